/**
 * What one anonymous client must not be able to do to the server, over real
 * HTTP on loopback: exhaust its memory with a huge body, hold the prediction
 * places with slow uploads, make it decode a costly picture, reach it under a
 * foreign host name (DNS rebinding), get an off-site link printed, guess
 * passwords at full speed, read the training machine's paths; and the small
 * ones: aborted uploads logged quietly, API answers never cached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decodeImage, ImageInputError } from '../../src/inference/decode.js';
import { parseCredential } from '../../src/server/http/middleware/auth.js';
import { HostAllowList, hostnameOf } from '../../src/server/http/middleware/host.js';
import { localPath } from '../../src/server/http/base-path.js';
import { redactPaths } from '../../src/server/present/redact.js';
import { facePng, photoJpeg } from '../helpers/images.js';
import { makeTestModels, saveTinyModel, testCard, type TestModels } from '../helpers/models.js';
import { basicAuthHeader, startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');

let models: TestModels;
before(async () => {
  models = await makeTestModels();
});
after(async () => {
  await models?.cleanup();
});

interface Answer {
  status: number | null;
  head: string;
  body: string;
}

/** The status line, headers and body a raw socket got, or status null when it was closed without one. */
function parseAnswer(raw: string): Answer {
  const end = raw.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return { status: m ? Number(m[1]) : null, head: end < 0 ? raw : raw.slice(0, end), body: end < 0 ? '' : raw.slice(end + 4) };
}

/**
 * A raw HTTP/1.1 client: sends `head`, then `first` body bytes, then nothing
 * (or, with `trickleMs`, one byte every trickleMs); resolves with what came
 * back when the server answers and closes, or after `waitMs` at most.
 */
function rawRequest(
  port: number,
  head: string,
  first: Buffer,
  o: { waitMs: number; trickleMs?: number },
): { done: Promise<Answer>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  let trickle: NodeJS.Timeout | undefined;
  const done = new Promise<Answer>((resolve) => {
    const finish = () => {
      clearInterval(trickle);
      clearTimeout(timer);
      resolve(parseAnswer(got));
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, o.waitMs);
    socket.on('data', (d) => {
      got += d.toString('latin1');
    });
    socket.on('close', finish);
    socket.on('error', () => {});
  });
  socket.write(head);
  if (first.length) socket.write(first);
  if (o.trickleMs)
    trickle = setInterval(() => {
      if (!socket.destroyed) socket.write('x');
    }, o.trickleMs);
  return { done, socket };
}

/**
 * Streams `bytes` of zeros to `url` in 64 KB pieces (chunked, or with the
 * length declared) and stops as soon as the server answers or hangs up.
 */
function streamBody(
  url: string,
  bytes: number,
  headers: Record<string, string>,
  declare: boolean,
): Promise<{ status: number | null; sent: number }> {
  return new Promise((resolve) => {
    const piece = Buffer.alloc(64 * 1024);
    let sent = 0;
    let status: number | null = null;
    let stopped = false;
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, ...(declare ? { 'Content-Length': String(bytes) } : { 'Transfer-Encoding': 'chunked' }) },
    });
    const stop = () => {
      if (!stopped) {
        stopped = true;
        req.destroy();
        resolve({ status, sent });
      }
    };
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on('end', stop);
      res.on('error', stop);
    });
    req.on('error', stop);
    req.on('close', stop);
    const pump = () => {
      while (!stopped && sent < bytes) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!stopped) req.end();
    };
    pump();
  });
}

/** Peak resident memory of this process (the server runs in it) while `fn` runs, above what it was before. */
async function rssGrowthDuring(fn: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return (peak - before) / 1024 / 1024;
}

function imageForm(bytes: Uint8Array, type = 'image/png'): FormData {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(bytes)], { type }), 'photo');
  return fd;
}

describe('body limits', () => {
  let server: SharingServer;
  before(async () => {
    server = await startSharingServer(models.dir, { rateLimitPerMinute: 0 });
  });
  after(async () => {
    await server?.close();
  });

  test('a 300 MB body to /flag is refused with 413 while it streams, and memory stays flat', { timeout: 120_000 }, async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin' };
    let chunked: { status: number | null; sent: number } | undefined;
    let declared: { status: number | null; sent: number } | undefined;
    const growth = await rssGrowthDuring(async () => {
      chunked = await streamBody(`${server.url}/flag`, 300 * 1024 * 1024, form, false);
      declared = await streamBody(`${server.url}/flag`, 300 * 1024 * 1024, form, true);
    });
    // A client that keeps blasting may see the connection reset before it reads the 413: either way it was cut off.
    assert.ok(chunked?.status === 413 || chunked?.status === null, `a chunked body is cut off at the limit: ${chunked?.status}`);
    assert.ok(chunked!.sent < 100 * 1024 * 1024, `the server stopped reading after ${chunked?.sent} bytes`);
    assert.equal(declared?.status, 413, 'a declared length over the limit is refused from the headers');
    assert.ok(growth < 100, `RSS grew ${growth.toFixed(0)} MB for two 300 MB bodies`);
    // Still serving.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('the 413 says the limit in words, and a normal-sized flag form still gets through to its checks', async () => {
    const big = await fetch(`${server.url}/flag`, {
      method: 'POST',
      headers: { 'Sec-Fetch-Site': 'same-origin', 'HX-Request': 'true' },
      body: new URLSearchParams({ token: 'x'.repeat(20_000), label: 'happy' }),
    });
    assert.equal(big.status, 413);
    assert.match(await big.text(), /too large: the limit is 16 KB/);
    const small = await fetch(`${server.url}/flag`, {
      method: 'POST',
      headers: { 'Sec-Fetch-Site': 'same-origin', 'HX-Request': 'true' },
      body: new URLSearchParams({ token: 'not-a-token', label: 'happy' }),
    });
    assert.equal(small.status, 400, 'read, then refused for its content');
    // Chunked, without a declared length, a little over the limit: counted while it arrives.
    const over = await streamBody(
      `${server.url}/flag`,
      64 * 1024,
      { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin' },
      false,
    );
    assert.equal(over.status, 413);
  });

  test('an upload over --max-upload-mb sent chunked is refused with 413 before it is all read', { timeout: 60_000 }, async () => {
    const r = await streamBody(`${server.url}/api/predict`, 200 * 1024 * 1024, { 'Content-Type': 'image/jpeg' }, false);
    assert.ok(r.status === 413 || r.status === null, `cut off: ${r.status}`);
    assert.ok(r.sent < 100 * 1024 * 1024, `the client could send only ${r.sent} bytes before being cut off`);
    // Declared: refused from the headers, before it takes a place in the queue.
    const declared = await streamBody(`${server.url}/api/predict`, 200 * 1024 * 1024, { 'Content-Type': 'image/jpeg' }, true);
    assert.equal(declared.status, 413);
  });
});

describe('every oversized upload gets its answer', () => {
  test('200 uploads over the limit on loopback, chunked and declared: each one reads its 413', { timeout: 120_000 }, async () => {
    const limit = 256 * 1024;
    const server = await startSharingServer(models.dir, { rateLimitPerMinute: 0, maxUploadBytes: limit });
    try {
      const statuses: Array<number | null> = [];
      for (let i = 0; i < 200; i++) {
        // From a little over the limit to several times it; odd ones declare their length.
        const bytes = limit + 64 * 1024 * (1 + (i % 16));
        const r = await streamBody(`${server.url}/api/predict`, bytes, { 'Content-Type': 'image/jpeg' }, i % 2 === 1);
        statuses.push(r.status);
      }
      const missed = statuses.filter((st) => st !== 413).length;
      assert.equal(missed, 0, `${missed} of 200 uploads got no 413 (statuses: ${[...new Set(statuses)].join(', ')})`);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('slow and stalled uploads', () => {
  test('a body that stalls is cut off with 408 after the idle time', { timeout: 30_000 }, async () => {
    const server = await startSharingServer(models.dir, { flag: false, bodyIdleMs: 400 });
    try {
      const port = Number(new URL(server.url).port);
      const head = 'POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n';
      const answer = await rawRequest(port, head, Buffer.alloc(1000), { waitMs: 10_000 }).done;
      assert.equal(answer.status, 408, `answer: ${JSON.stringify(answer.head.slice(0, 80))}`);
      assert.match(answer.head, /^connection: close$/im);
      assert.match(answer.body, /stopped arriving/);
    } finally {
      await server.close();
    }
  });

  test('five clients trickling uploads hold no prediction place: a normal prediction is still served', { timeout: 60_000 }, async () => {
    // Two places and one waiting spot: five slow uploads would fill them all if they were queued while still arriving.
    const server = await startSharingServer(models.dir, { flag: false, rateLimitPerMinute: 0, queue: { concurrency: 2, maxWaiting: 1 } });
    const port = Number(new URL(server.url).port);
    const head = 'POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n';
    const slow = Array.from({ length: 5 }, () => rawRequest(port, head, Buffer.alloc(10), { waitMs: 30_000, trickleMs: 200 }));
    try {
      await new Promise((r) => setTimeout(r, 500)); // all five are connected and trickling
      const photo = await photoJpeg(320, 240);
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/predict`, { method: 'POST', body: imageForm(photo, 'image/jpeg') });
      const ms = performance.now() - t0;
      assert.equal(res.status, 200, `a normal prediction beside five slow uploads: ${res.status} ${await res.clone().text()}`);
      await res.arrayBuffer();
      // A figure for the record, not an assertion (timings move with the machine's load).
      console.log(`# normal prediction beside 5 trickling uploads: ${ms.toFixed(0)} ms`);
    } finally {
      for (const s of slow) s.socket.destroy();
      await Promise.all(slow.map((s) => s.done));
      await server.close();
    }
  });

  test('an upload abandoned halfway is logged quietly, without a 500 or a stack trace', { timeout: 30_000 }, async () => {
    const server = await startSharingServer(models.dir, { flag: false, logRequests: true });
    try {
      const port = Number(new URL(server.url).port);
      for (const [p, type] of [
        ['/api/predict', 'image/jpeg'],
        ['/predict', 'multipart/form-data; boundary=xyz'],
      ]) {
        const head = `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${type}\r\nContent-Length: 100000\r\n\r\n`;
        const r = rawRequest(port, head, Buffer.alloc(5000), { waitMs: 5_000 });
        await new Promise((res) => setTimeout(res, 200));
        r.socket.destroy();
        await r.done;
      }
      // Wait (bounded) until both requests have been handled and logged.
      for (let i = 0; i < 100 && server.logs.filter((l) => /^POST \/(api\/)?predict /.test(l)).length < 2; i++) {
        await new Promise((res) => setTimeout(res, 50));
      }
      const handled = server.logs.filter((l) => /^POST \/(api\/)?predict /.test(l));
      assert.equal(handled.length, 2, `both were handled: ${server.logs.join('\n')}`);
      for (const line of handled) assert.doesNotMatch(line, / 5\d\d /, line);
      assert.deepEqual(
        server.logs.filter((l) => /^error:|\n\s+at /.test(l)),
        [],
        'no error line, no stack',
      );
    } finally {
      await server.close();
    }
  });
});

describe('pixel limits by format', () => {
  // 4200 x 4000 = 16.8 MP: under the general 50 MP limit, over the 16 MP one of the costly formats.
  const avif = fs.readFileSync(path.join(FIXTURES, 'flat-4200x4000.avif'));
  const gif = fs.readFileSync(path.join(FIXTURES, 'flat-4200x4000.gif'));

  test('AVIF and GIF over 16 MP are refused from their header; a JPEG of the same size is decoded', async () => {
    for (const bytes of [avif, gif]) {
      await assert.rejects(
        decodeImage(new Uint8Array(bytes), { maxPixels: 50_000_000 }),
        (e: unknown) =>
          e instanceof ImageInputError && e.code === 'too_many_pixels' && /4200 x 4000 pixels, more than the 16 megapixels/.test(e.message),
      );
    }
    const jpeg = await photoJpeg(4200, 4000);
    const img = await decodeImage(new Uint8Array(jpeg), { maxPixels: 50_000_000 });
    assert.equal(img.width, 4200);
    // A lower general limit still wins over the format's own.
    await assert.rejects(decodeImage(new Uint8Array(avif), { maxPixels: 10_000_000 }), /more than the 10 megapixels/);
  });

  test('over HTTP: 422 with a sentence', { timeout: 30_000 }, async () => {
    const server = await startSharingServer(models.dir, { flag: false });
    try {
      const res = await fetch(`${server.url}/api/predict`, { method: 'POST', body: avif, headers: { 'Content-Type': 'image/avif' } });
      assert.equal(res.status, 422);
      assert.match(((await res.json()) as { error: string }).error, /16 megapixels/);
    } finally {
      await server.close();
    }
  });
});

/** A request with a Host header of our choosing (fetch will not send one). */
function requestWithHost(
  url: string,
  host: string,
  o: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: o.method ?? 'GET', agent: false, headers: { Host: host, ...o.headers } }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => {
          body += d;
        })
        .on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('Host allow-list', () => {
  let server: SharingServer;
  before(async () => {
    server = await startSharingServer(models.dir, { publicUrl: 'https://demo.example.org/ekspresi/', allowedHosts: ['ekspresi.lan'] });
    await server.flagging!.store.add({
      model: 'tiny-a',
      label: 'sad',
      note: '',
      face: new Uint8Array(48 * 48),
      scores: { angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 },
    });
  });
  after(async () => {
    await server?.close();
  });

  test('a foreign Host gets 421 on pages, API, flags and deletes (DNS rebinding)', async () => {
    const evil = 'evil.example:7860';
    const sameSite = { Origin: 'http://evil.example:7860', 'Content-Type': 'application/x-www-form-urlencoded' };
    const cases = [
      await requestWithHost(`${server.url}/`, evil),
      await requestWithHost(`${server.url}/flagged`, evil),
      await requestWithHost(`${server.url}/api/models`, evil),
      await requestWithHost(`${server.url}/share`, evil),
      await requestWithHost(`${server.url}/openapi.json`, evil),
      await requestWithHost(`${server.url}/flag`, evil, { method: 'POST', body: 'token=x&label=sad', headers: sameSite }),
      await requestWithHost(`${server.url}/flagged/1/delete`, evil, { method: 'POST', body: '', headers: sameSite }),
      // A name that only looks like loopback.
      await requestWithHost(`${server.url}/`, '127.0.0.1.evil.example'),
      await requestWithHost(`${server.url}/`, '127.evil.example'),
    ];
    for (const r of cases) {
      assert.equal(r.status, 421, r.body.slice(0, 200));
      assert.doesNotMatch(r.body, /evil\.example[^"]*\/share|href="http:\/\/evil/);
    }
    assert.match(cases[2].body, /does not answer to the name/);
    assert.equal(server.flagging!.store.count(), 1, 'the flag was not deleted');
  });

  test('an absolute request target naming another host gets 421 too', async () => {
    const port = Number(new URL(server.url).port);
    const answer = await rawRequest(
      port,
      'GET http://evil.example/share HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      Buffer.alloc(0),
      { waitMs: 5_000 },
    ).done;
    assert.equal(answer.status, 421);
  });

  test('loopback names, --public-url and --allow-host names are served; links come from them', async () => {
    for (const host of [
      '127.0.0.1',
      'localhost',
      `localhost:${new URL(server.url).port}`,
      '[::1]:7860',
      'demo.example.org',
      'EKSPRESI.LAN:7860',
    ]) {
      assert.equal((await requestWithHost(`${server.url}/healthz`, host)).status, 200, host);
    }
    const share = await requestWithHost(`${server.url}/share`, 'ekspresi.lan:7860');
    assert.match(share.body, /id="share-url">https:\/\/demo\.example\.org\/ekspresi\/</, 'the public URL, not the Host');
    const doc = JSON.parse((await requestWithHost(`${server.url}/openapi.json`, 'localhost')).body) as { servers: Array<{ url: string }> };
    assert.equal(doc.servers[0].url, 'https://demo.example.org/ekspresi');
  });

  test('a forwarded host that is not allowed never becomes the share link', async () => {
    const proxied = await startSharingServer(models.dir, { flag: false, trustProxy: true });
    try {
      const r = await requestWithHost(`${proxied.url}/share`, '127.0.0.1', { headers: { 'X-Forwarded-Host': 'evil.example' } });
      assert.equal(r.status, 200);
      assert.doesNotMatch(r.body, /evil\.example/);
    } finally {
      await proxied.close();
    }
  });

  test('the list itself: names, ports, brackets, URLs, all interfaces', () => {
    assert.equal(hostnameOf('Example.ORG:8080'), 'example.org');
    assert.equal(hostnameOf('[::1]:7860'), '::1');
    assert.equal(hostnameOf('https://demo.example.org/x/'), 'demo.example.org');
    const fake = { eth0: [{ address: '192.168.1.20', family: 'IPv4', internal: false }] } as unknown as NodeJS.Dict<
      os.NetworkInterfaceInfo[]
    >;
    const all = new HostAllowList('0.0.0.0', [], fake);
    assert.ok(all.allows('192.168.1.20:7860'));
    assert.ok(all.allows(os.hostname()));
    assert.ok(!all.allows('192.168.1.21'));
    const one = new HostAllowList('192.168.1.20', ['https://x.example/']);
    assert.ok(one.allows('x.example'));
    assert.ok(one.allows('app.localhost'));
    assert.ok(!one.allows('evil.example'));
    assert.ok(!one.allows(''));
    one.add('abc.trycloudflare.com'); // a tunnel's host, added once it is open
    assert.ok(one.allows('abc.trycloudflare.com:443'));
  });
});

describe('links built from the request path', () => {
  let server: SharingServer;
  before(async () => {
    server = await startSharingServer(models.dir, { flag: false });
  });
  after(async () => {
    await server?.close();
  });

  test('a path starting with // or a backslash never gives an off-site link', async () => {
    for (const p of ['//evil.example/x', '/%5Cevil.example', '/%5C%5Cevil.example/x', '///evil.example']) {
      const r = await requestWithHost(`${server.url}${p}`, '127.0.0.1');
      assert.equal(r.status, 404, p);
      const hrefs = [...r.body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      assert.ok(
        hrefs.some((h) => /lang=id/.test(h)),
        `${p}: the language links are there`,
      );
      for (const h of hrefs) assert.doesNotMatch(h, /^(\/\/|\/\\|\\|[a-z]+:)/i, `${p}: ${h}`);
    }
    assert.equal(localPath('//evil.example/x'), '/evil.example/x');
    assert.equal(localPath('/\\evil.example'), '/evil.example');
    assert.equal(localPath('/a\\b'), '/a%5Cb');
  });
});

describe('failed logins', () => {
  test(
    'wrong passwords from one client get 429 with Retry-After after a burst; another client still signs in',
    { timeout: 60_000 },
    async () => {
      const server = await startSharingServer(models.dir, { flag: false, trustProxy: true, auth: [parseCredential('alice:s3cret')] });
      try {
        const from = (ip: string, auth: Record<string, string>) =>
          fetch(`${server.url}/api/models`, { headers: { 'X-Forwarded-For': ip, ...auth } });
        const statuses: number[] = [];
        let limited: Response | undefined;
        for (let i = 0; i < 40; i++) {
          const r = await from('203.0.113.9', basicAuthHeader('alice', `guess-${i}`));
          statuses.push(r.status);
          if (r.status === 429) limited ??= r;
          await r.arrayBuffer().catch(() => {});
        }
        assert.ok(statuses.includes(401), 'the first wrong passwords are plain 401');
        assert.ok(limited, `some were throttled: ${statuses.join(',')}`);
        assert.ok(statuses.filter((s) => s === 401).length <= 12, `about the burst was checked: ${statuses.join(',')}`);
        assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
        // Now even the right password waits for that client; another client is not affected.
        assert.equal((await from('203.0.113.9', basicAuthHeader('alice', 's3cret'))).status, 429);
        const other = await from('203.0.113.10', basicAuthHeader('alice', 's3cret'));
        assert.equal(other.status, 200);
        const json = (await (await from('203.0.113.9', basicAuthHeader('alice', 'x'))).json()) as { error: string };
        assert.match(json.error, /Too many wrong passwords/);
        // A browser's first visit (no password at all) does not count as a failure.
        for (let i = 0; i < 20; i++) assert.equal((await from('203.0.113.11', {})).status, 401);
        assert.equal((await from('203.0.113.11', basicAuthHeader('alice', 's3cret'))).status, 200);
      } finally {
        await server.close();
      }
    },
  );
});

describe('what is served', () => {
  test('cards, /compare and its missing-file page show no paths of the training machine', { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-cards-'));
    try {
      await saveTinyModel(
        dir,
        testCard('warm', 0.5, {
          settings: { init: '/work/runs/exp/cw-sqrt/checkpoint', base: '/home/someone/mobilenet/model.json', lr: 0.001 },
          notes: 'Warm start from (/work/runs/exp/cw-sqrt/checkpoint, its own settings).',
        }),
        1,
      );
      // A comparison whose notes name such a path (as cards of warm-started runs did).
      const comparison = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'models', 'comparison.json'), 'utf8'));
      comparison.models[0].notes = [
        ...(comparison.models[0].notes ?? []),
        'Warm start from (/work/runs/exp/cw-sqrt/checkpoint, its own settings).',
      ];
      fs.writeFileSync(path.join(dir, 'comparison.json'), JSON.stringify(comparison));
      const server = await startSharingServer(dir, { flag: false });
      const empty = await startSharingServer(path.join(dir, 'nothing-here'), { flag: false });
      try {
        const cards = await (await fetch(`${server.url}/api/models`)).text();
        assert.match(cards, /…\/checkpoint/, 'the last part stays, as a hint');
        assert.match(cards, /"lr":0.001/);
        const compare = await (await fetch(`${server.url}/compare`)).text();
        assert.match(compare, /Warm start/);
        const missing = await (await fetch(`${empty.url}/compare`)).text();
        assert.match(missing, /does not exist/);
        const noModels = await (await fetch(`${empty.url}/`)).text();
        for (const [name, text] of [
          ['cards', cards],
          ['compare', compare],
          ['missing', missing],
          ['no models', noModels],
        ]) {
          assert.doesNotMatch(text, /\/work\/|\/home\/|\/tmp\//, `${name} shows a local path`);
          assert.ok(!text.includes(dir), `${name} shows the models folder's path`);
        }
      } finally {
        await Promise.all([server.close(), empty.close()]);
      }
      // The files themselves are not edited.
      assert.match(fs.readFileSync(path.join(dir, 'warm', 'card.json'), 'utf8'), /\/work\/runs\/exp\/cw-sqrt\/checkpoint/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(redactPaths('see https://tfhub.dev/a/b and models/custom-cnn'), 'see https://tfhub.dev/a/b and models/custom-cnn');
    assert.equal(redactPaths('C:\\Users\\me\\run and ~/x/y'), '…/run and …/y');
  });

  test(
    'the shipped cards, the comparison and the pages made from them name no folder of the training machine',
    { timeout: 120_000 },
    async () => {
      // Absolute paths, home folders, paths climbing out of the project, and run/checkpoint folders.
      const LOCAL = /(?<![\w.:/])\/(?:work|home|root|tmp|Users|mnt|data)\/|(?<![\w.])\.\.[/\\]|[A-Za-z]:\\|\bruns\/|checkpoint\//;
      const shipped = path.join(import.meta.dirname, '..', '..', 'models');
      const files = fs
        .readdirSync(shipped, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? [path.join(e.name, 'card.json')] : e.name.endsWith('.json') ? [e.name] : []))
        .filter((f) => fs.existsSync(path.join(shipped, f)));
      assert.ok(files.filter((f) => f.endsWith('card.json')).length >= 2, `cards found: ${files.join(', ')}`);
      for (const f of files) {
        const strings: string[] = [];
        const walk = (v: unknown): void => {
          if (typeof v === 'string') strings.push(v);
          else if (v && typeof v === 'object') Object.values(v).forEach(walk);
        };
        walk(JSON.parse(fs.readFileSync(path.join(shipped, f), 'utf8')));
        const local = strings.filter((x) => LOCAL.test(x));
        assert.deepEqual(local, [], `models/${f} names local paths`);
      }
      assert.equal(redactPaths('base ../shared/data/pretrained/mb2 of models/custom-cnn'), 'base …/mb2 of models/custom-cnn');

      const server = await startSharingServer(shipped, { flag: false });
      try {
        for (const where of ['/compare', '/compare?lang=id', '/api/models', '/']) {
          const text = await (await fetch(`${server.url}${where}`)).text();
          assert.doesNotMatch(text, LOCAL, `${where} shows a local path`);
        }
      } finally {
        await server.close();
      }
    },
  );

  test('API answers say Cache-Control: no-store, errors included', async () => {
    const server = await startSharingServer(models.dir, { flag: false });
    try {
      const answers = [
        await fetch(`${server.url}/api/models`),
        await fetch(`${server.url}/api/predict`, {
          method: 'POST',
          body: new Uint8Array([1, 2, 3]),
          headers: { 'Content-Type': 'image/jpeg' },
        }),
        await fetch(`${server.url}/api/predict`, { method: 'POST', body: imageForm(await facePng(64)) }),
        await fetch(`${server.url}/api/nothing-here`),
      ];
      assert.deepEqual(
        answers.map((r) => r.status),
        [200, 415, 200, 404],
      );
      for (const r of answers) assert.equal(r.headers.get('cache-control'), 'no-store', r.url);
    } finally {
      await server.close();
    }
  });
});
