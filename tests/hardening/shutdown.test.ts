/**
 * Graceful shutdown: `npm start`'s code (src/cli/serve.ts) as a
 * child process. SIGTERM while an upload is still arriving: the request is
 * finished and answered, new connections are refused meanwhile, and the
 * process exits 0. SIGINT the same. A client that never finishes its upload
 * holds the exit up only for --shutdown-timeout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startChildServer, type ChildServer } from '../../src/bench/child-server.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';

let models: TestModels;
let face: Buffer;

before(async () => {
  models = await makeTestModels();
  face = await facePng(96);
});
after(async () => {
  await models?.cleanup();
});

function start(extra: string[] = []): Promise<ChildServer> {
  return startChildServer({
    args: ['--models', models.dir, '--quiet', '--no-flagging', '--rate-limit', '0', ...extra],
    timeoutMs: 120_000,
  });
}

interface Slow {
  sent: Promise<void>;
  answer: Promise<{ status: number; body: string }>;
  finish(): void;
}

/** A POST whose body arrives in two parts: the second only when finish() is called. */
function slowUpload(url: string, body: Buffer): Slow {
  const u = new URL(`${url}/api/predict?whole=1`);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: `${u.pathname}${u.search}`,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'image/png', 'content-length': body.length },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  const half = Math.floor(body.length / 2);
  const sent = new Promise<void>((resolve) => req.write(body.subarray(0, half), () => resolve()));
  return { sent, answer, finish: () => req.end(body.subarray(half)) };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return false;
  } catch (e) {
    return /ECONNREFUSED/.test(String((e as { cause?: Error }).cause?.message ?? (e as Error).message));
  }
}

describe('shutdown', () => {
  test('npm start runs node itself, not a wrapper process, so `kill PID` reaches the server', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    // sh -c execs its last command: the PID npm starts is the server's own node process.
    assert.match(pkg.scripts.start, /^node --import tsx src\/cli\/serve\.ts$/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} finishes the request in flight, then exits 0`, { timeout: 180_000 }, async () => {
      const server = await start();
      try {
        const slow = slowUpload(server.url, face);
        await slow.sent;
        await new Promise((r) => setTimeout(r, 200)); // the server has the headers and half the body
        const t0 = performance.now();
        server.child.kill(signal);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await refused(server.url), true, 'new connections are refused while draining');
        slow.finish();
        const answer = await slow.answer;
        assert.equal(answer.status, 200, answer.body);
        assert.equal((JSON.parse(answer.body) as { faces: unknown[] }).faces.length, 1);
        const exit = await server.exited;
        assert.deepEqual(exit, { code: 0, signal: null }, server.output());
        assert.ok(performance.now() - t0 < 10_000, 'exits promptly once the request is done');
        assert.match(server.output(), new RegExp(`${signal}: finishing the requests in progress`));
      } finally {
        if (server.child.exitCode === null) server.child.kill('SIGKILL');
      }
    });
  }

  test('an upload that never finishes holds the exit up only for --shutdown-timeout', { timeout: 180_000 }, async () => {
    const server = await start(['--shutdown-timeout', '1']);
    try {
      const slow = slowUpload(server.url, face);
      slow.answer.catch(() => {}); // it is cut off: that is the point
      await slow.sent;
      await new Promise((r) => setTimeout(r, 200));
      const stopped = await server.stop('SIGTERM');
      assert.deepEqual({ code: stopped.code, signal: stopped.signal }, { code: 0, signal: null }, server.output());
      assert.ok(stopped.ms >= 900 && stopped.ms < 6_000, `exited after ${stopped.ms.toFixed(0)} ms`);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  });
});
