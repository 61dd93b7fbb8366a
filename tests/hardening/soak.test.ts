/**
 * Soak: the real server on a loopback port under steady mixed
 * traffic (faces, photos through the detector, the htmx form, Grad-CAM, every
 * model side by side, broken uploads, pages), then memory, tensors and open
 * file handles compared with the start, after a warm-up of the same traffic:
 *  - tensors: exactly as many as at the start;
 *  - open file handles: at most SOAK_FD_SLACK (default 8) more;
 *  - RSS: at most SOAK_RSS_MB (default 64) MB more, and at most half that in
 *    the second half of the run (a leak keeps growing; a warm heap does not).
 * SOAK_SECONDS (default 25) sets the length: e.g. SOAK_SECONDS=300 for five minutes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad, type LoadResult } from '../../src/bench/load.js';
import { collectGarbage, processStats, type ProcessStats } from '../../src/bench/process-stats.js';
import { multipart } from '../helpers/fuzz-inputs.js';
import { facePng, photoJpeg, truncatedJpeg } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 25);
const RSS_BOUND_MB = Number(process.env.SOAK_RSS_MB ?? 64);
const FD_SLACK = Number(process.env.SOAK_FD_SLACK ?? 8);
const CLIENTS = 4;

let models: TestModels;
let server: TestServer;

before(async () => {
  models = await makeTestModels();
  server = await startTestServer(models.dir, { rateLimitPerMinute: 0, queue: { maxWaiting: 64 } });
});
after(async () => {
  await server?.close();
  await models?.cleanup();
});

interface Req {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

async function traffic(): Promise<Req[]> {
  const face = await facePng(48);
  const photo = await photoJpeg(640, 480);
  const png = { 'content-type': 'image/png' };
  const form = multipart([
    { name: 'image', filename: 'face.png', type: 'image/png', data: face },
    { name: 'whole', data: '1' },
  ]);
  return [
    { method: 'POST', path: '/api/predict?whole=1', headers: png, body: face },
    { method: 'POST', path: '/api/predict', headers: { 'content-type': 'image/jpeg' }, body: photo },
    { method: 'POST', path: '/predict', headers: { 'content-type': form.contentType, 'hx-request': 'true' }, body: form.body },
    { method: 'POST', path: '/api/predict?whole=1&explain=1', headers: png, body: face },
    { method: 'POST', path: '/api/predict?whole=1&model=all', headers: png, body: face },
    { method: 'POST', path: '/api/predict?whole=1&tta=1', headers: png, body: face },
    { method: 'POST', path: '/api/predict', headers: { 'content-type': 'image/jpeg' }, body: await truncatedJpeg() },
    { method: 'POST', path: '/api/predict', headers: png, body: Buffer.from('not an image at all') },
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/api/models' },
  ];
}

function run(mix: Req[], seconds: number): Promise<LoadResult> {
  return runLoad({
    url: server.url,
    clients: CLIENTS,
    seconds,
    timeoutS: 30,
    mix,
  });
}

function assertHealthy(r: LoadResult, what: string): void {
  const fives = Object.entries(r.status).filter(([s]) => Number(s) >= 500);
  assert.deepEqual(fives, [], `${what}: 5xx answers ${JSON.stringify(r.status)}`);
  assert.equal(r.errors, 0, `${what}: ${r.errors} connection errors`);
  assert.equal(r.timeouts, 0, `${what}: ${r.timeouts} timeouts`);
  assert.ok((r.status['200'] ?? 0) > 0, `${what}: nothing answered 200`);
}

const settle = () => new Promise((r) => setTimeout(r, 300));

test(`soak: ${SECONDS} s of mixed traffic leaks no tensor, file handle or memory`, { timeout: (SECONDS + 120) * 1000 }, async () => {
  const mix = await traffic();
  // Warm-up with the same traffic: kernels compiled, the detector loaded, heaps at their working size.
  assertHealthy(await run(mix, Math.min(5, Math.max(2, SECONDS / 5))), 'warm-up');
  await settle();
  const start = processStats();

  const half = Math.max(1, SECONDS / 2);
  const first = await run(mix, half);
  assertHealthy(first, 'first half');
  await settle();
  const middle = processStats();
  const second = await run(mix, half);
  assertHealthy(second, 'second half');
  await settle();
  collectGarbage();
  const end = processStats();

  const show = (s: ProcessStats) => `RSS ${s.rssMb} MB, ${s.tensors} tensors, ${s.fds} fds`;
  console.log(
    `soak: ${first.requests + second.requests} requests in ${SECONDS} s (${JSON.stringify(second.status)} in the second half)\n` +
      `  start:  ${show(start)}\n  middle: ${show(middle)}\n  end:    ${show(end)}`,
  );
  assert.equal(end.tensors, start.tensors, 'tensors must not grow');
  if (start.fds !== null && end.fds !== null) assert.ok(end.fds <= start.fds + FD_SLACK, `open file handles ${start.fds} -> ${end.fds}`);
  assert.ok(end.rssMb - start.rssMb <= RSS_BOUND_MB, `RSS grew ${(end.rssMb - start.rssMb).toFixed(1)} MB (bound ${RSS_BOUND_MB})`);
  assert.ok(end.rssMb - middle.rssMb <= RSS_BOUND_MB / 2, `RSS still growing in the second half: ${middle.rssMb} -> ${end.rssMb} MB`);

  // And it still answers right.
  const res = await fetch(`${server.url}/api/predict?whole=1`, {
    method: 'POST',
    body: new Uint8Array(await facePng(48)),
    headers: { 'content-type': 'image/png' },
  });
  assert.equal(res.status, 200);
});
