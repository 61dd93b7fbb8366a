/**
 * The prediction queue and the per-client rate limit: the queue on its own
 * (bounded places, bounded waiting, a wait limit), then a burst of real
 * requests answered 503 + Retry-After beyond it, and 429 + Retry-After for a
 * client over its rate while another client is still served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QueueFullError, WorkQueue } from '../../src/server/http/middleware/queue.js';
import { photoJpeg } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startSharingServer } from '../helpers/sharing-server.js';

let models: TestModels;
before(async () => {
  models = await makeTestModels();
});
after(async () => {
  await models?.cleanup();
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('WorkQueue', () => {
  test('runs a bounded number at once, queues a bounded number, refuses the rest', async () => {
    const q = new WorkQueue({ concurrency: 2, maxWaiting: 1, maxWaitMs: 10_000 });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      q.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1]);
    assert.equal(q.running, 2);
    assert.equal(q.queued, 1);
    await assert.rejects(
      q.run(async () => 99),
      (e: unknown) => e instanceof QueueFullError && e.retryAfterSeconds >= 1,
    );
    gates[0].resolve();
    assert.equal(await runs[0], 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [0, 1, 2], 'the waiting one got the free place');
    gates[1].resolve();
    gates[2].resolve();
    assert.deepEqual(await Promise.all(runs), [0, 1, 2]);
    assert.equal(q.running, 0);
    assert.equal(q.queued, 0);
  });

  test('a request that waits too long gives up with QueueFullError; a failing run frees its place', async () => {
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 5, maxWaitMs: 50 });
    const gate = deferred();
    const first = q.run(() => gate.promise);
    await assert.rejects(
      q.run(async () => 1),
      QueueFullError,
    );
    assert.equal(q.queued, 0);
    gate.resolve();
    await first;
    await assert.rejects(
      q.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await q.run(async () => 7), 7);
    assert.equal(q.running, 0);
  });
});

describe('over HTTP', () => {
  test('a burst beyond the queue is answered 503 with Retry-After, and the server keeps serving', { timeout: 120_000 }, async () => {
    const server = await startSharingServer(models.dir, { flag: false, queue: { concurrency: 1, maxWaiting: 1 }, rateLimitPerMinute: 0 });
    try {
      const photo = new Uint8Array(await photoJpeg(1024, 768));
      const send = () => {
        const fd = new FormData();
        fd.append('image', new Blob([photo], { type: 'image/jpeg' }), 'p.jpg');
        return fetch(`${server.url}/api/predict`, { method: 'POST', body: fd });
      };
      const responses = await Promise.all(Array.from({ length: 10 }, send));
      const statuses = responses.map((r) => r.status);
      const busy = responses.filter((r) => r.status === 503);
      assert.ok(busy.length >= 1, `some requests were refused: ${statuses}`);
      assert.ok(statuses.filter((s) => s === 200).length >= 1, `some were served: ${statuses}`);
      assert.deepEqual(
        statuses.filter((s) => s !== 200 && s !== 503),
        [],
      );
      for (const r of busy) {
        assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        assert.match(((await r.json()) as { error: string }).error, /Many people are using the demo/);
      }
      // The page's form gets the same, as the error partial, in the user's language.
      const pageBurst = await Promise.all(
        Array.from({ length: 6 }, () => {
          const fd = new FormData();
          fd.append('image', new Blob([photo], { type: 'image/jpeg' }), 'p.jpg');
          return fetch(`${server.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true', 'Accept-Language': 'id' } });
        }),
      );
      const refused = pageBurst.find((r) => r.status === 503);
      assert.ok(refused, `a page request was refused too: ${pageBurst.map((r) => r.status)}`);
      assert.match(await refused.text(), /role="alert"[\s\S]*Banyak orang sedang memakai demo ini/);
      // Afterwards: served again.
      assert.equal((await send()).status, 200);
    } finally {
      await server.close();
    }
  });

  test('a client over its rate gets 429 with Retry-After; another client is still served', { timeout: 60_000 }, async () => {
    const server = await startSharingServer(models.dir, { flag: false, rateLimitPerMinute: 3, trustProxy: true });
    try {
      const photo = new Uint8Array(await photoJpeg(96, 96));
      const send = (client: string) =>
        fetch(`${server.url}/api/predict`, {
          method: 'POST',
          body: photo,
          headers: { 'content-type': 'image/jpeg', 'X-Forwarded-For': client },
        });
      const first = [];
      for (let i = 0; i < 4; i++) first.push(await send('203.0.113.7'));
      assert.deepEqual(
        first.map((r) => r.status),
        [200, 200, 200, 429],
      );
      const limited = first[3];
      assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.match(((await limited.json()) as { error: string }).error, /many photos in a short time/);
      assert.equal((await send('203.0.113.8')).status, 200, 'another client has its own allowance');
      // Pages and other GETs are not rate limited.
      for (let i = 0; i < 5; i++)
        assert.equal((await fetch(`${server.url}/api/models`, { headers: { 'X-Forwarded-For': '203.0.113.7' } })).status, 200);
    } finally {
      await server.close();
    }
  });
});
