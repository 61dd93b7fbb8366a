/**
 * Running the demo for other people, over real HTTP on loopback: basic auth
 * on pages, API and static files; --base-path behind a proxy; the addresses
 * and QR codes of the share link; and the security headers on every answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type os from 'node:os';
import { normaliseBasePath } from '../../src/server/http/base-path.js';
import { credentialsFromEnv, parseCredential } from '../../src/server/http/middleware/auth.js';
import { lanAddresses, qrSvgDataUrl, qrTerminal, reachableUrls, startupMessage } from '../../src/server/sharing/share.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { basicAuthHeader, startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

let models: TestModels;
before(async () => {
  models = await makeTestModels();
});
after(async () => {
  await models?.cleanup();
});

/** GET with a Host header of our choosing (fetch will not send one), as a request through another name would come. */
function getWithHost(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Host: host } }, (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            body += d;
          })
          .on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function imageForm(bytes: Uint8Array): FormData {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'face.png');
  return fd;
}

describe('basic auth', () => {
  let server: SharingServer;
  const alice = basicAuthHeader('alice', 's3cret');
  const bob = basicAuthHeader('bob', 'pa:ss'); // a password may contain ':'
  before(async () => {
    server = await startSharingServer(models.dir, { auth: [parseCredential('alice:s3cret'), parseCredential('bob:pa:ss')] });
  });
  after(async () => {
    await server?.close();
  });

  const PROTECTED = [
    '/',
    '/api',
    '/share',
    '/flagged',
    '/flagged/export.csv',
    '/compare',
    '/openapi.json',
    '/api/models',
    '/static/app.js',
    '/static/style.css',
    '/static/sharing.js',
    '/vendor/htmx.min.js',
  ];

  test('401 with a Basic challenge without credentials, on pages, API and static files', async () => {
    for (const p of PROTECTED) {
      const res = await fetch(server.url + p);
      assert.equal(res.status, 401, p);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="ekspresi"', p);
      assert.ok(res.headers.get('content-security-policy'), `${p}: security headers on the 401 too`);
      const body = await res.text();
      assert.match(body, /user name and password/, p);
      if (p.startsWith('/api/')) assert.match(body, /^\{"error":/, `${p}: JSON for the API`);
    }
    const predict = await fetch(`${server.url}/api/predict`, { method: 'POST', body: imageForm(await facePng(64)) });
    assert.equal(predict.status, 401);
    const flag = await fetch(`${server.url}/flag`, { method: 'POST', body: new FormData() });
    assert.equal(flag.status, 401);
  });

  test('wrong credentials are refused; each configured user gets 200', async () => {
    assert.equal((await fetch(server.url + '/', { headers: basicAuthHeader('alice', 'wrong') })).status, 401);
    assert.equal((await fetch(server.url + '/', { headers: basicAuthHeader('mallory', 's3cret') })).status, 401);
    for (const p of PROTECTED) {
      for (const who of [alice, bob]) {
        const res = await fetch(server.url + p, { headers: who });
        assert.equal(res.status, 200, p);
        await res.arrayBuffer();
      }
    }
    const predict = await fetch(`${server.url}/api/predict`, { method: 'POST', body: imageForm(await facePng(64)), headers: alice });
    assert.equal(predict.status, 200);
  });

  test('only the health check and the favicon are public', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/static/favicon.svg`)).status, 200);
  });

  test('credentials from --auth values and the environment variable', () => {
    assert.deepEqual(parseCredential('ann:a:b'), { username: 'ann', password: 'a:b' });
    assert.throws(() => parseCredential('nopassword'), /user:password/);
    assert.throws(() => parseCredential(':pw'), /user:password/);
    assert.deepEqual(credentialsFromEnv('ann:one, bob:two\ncy:three'), [
      { username: 'ann', password: 'one' },
      { username: 'bob', password: 'two' },
      { username: 'cy', password: 'three' },
    ]);
    assert.deepEqual(credentialsFromEnv(undefined), []);
  });
});

describe('--base-path behind a reverse proxy', () => {
  let server: SharingServer;
  before(async () => {
    server = await startSharingServer(models.dir, { basePath: '/demo' });
  });
  after(async () => {
    await server?.close();
  });

  test('normalising the prefix', () => {
    assert.equal(normaliseBasePath('/demo/'), '/demo');
    assert.equal(normaliseBasePath('demo'), '/demo');
    assert.equal(normaliseBasePath('/'), '');
    assert.equal(normaliseBasePath(''), '');
    assert.throws(() => normaliseBasePath('/a b'), /not a plain URL path/);
  });

  test('every link, script, form and htmx URL in the pages carries the prefix', async () => {
    const pages = ['/', '/api', '/flagged', '/share', '/compare', '/no-such-page'];
    for (const p of pages) {
      const html = await (await fetch(server.url + p)).text();
      const urls = [...html.matchAll(/\s(?:href|src|action|hx-get|hx-post)="(\/[^"]*)"/g)].map((m) => m[1]);
      assert.ok(urls.length > 0, p);
      for (const u of urls) assert.ok(u.startsWith('/demo/') || u === '/demo', `${p}: ${u} lacks the /demo prefix`);
    }
  });

  test('the app answers under the prefix, and also when the proxy strips it', async () => {
    assert.equal((await fetch(`${server.origin}/demo`)).status, 200);
    assert.equal((await fetch(`${server.origin}/demo/static/app.js`)).status, 200);
    assert.equal((await fetch(`${server.origin}/static/app.js`)).status, 200);
    const res = await fetch(`${server.origin}/demo/api/predict`, { method: 'POST', body: imageForm(await facePng(64)) });
    assert.equal(res.status, 200);
    const doc = (await (await fetch(`${server.origin}/demo/openapi.json`)).json()) as { servers: Array<{ url: string }> };
    assert.equal(doc.servers[0].url, `${server.origin}/demo`);
    const lang = await fetch(`${server.origin}/demo/?lang=id`);
    assert.match(lang.headers.get('set-cookie') ?? '', /Path=\/demo/);
  });
});

describe('share link', () => {
  const fakeInterfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.168.1.20', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: '2001:db8::5', family: 'IPv6', internal: false },
    ],
  } as unknown as NodeJS.Dict<os.NetworkInterfaceInfo[]>;

  test('the start-up addresses: loopback, and each LAN address with --host 0.0.0.0', async () => {
    assert.deepEqual(lanAddresses(fakeInterfaces), ['192.168.1.20', '2001:db8::5']);
    assert.deepEqual(reachableUrls('0.0.0.0', 7860, '/x', fakeInterfaces), {
      local: ['http://127.0.0.1:7860/x/'],
      lan: ['http://192.168.1.20:7860/x/', 'http://[2001:db8::5]:7860/x/'],
    });
    assert.deepEqual(reachableUrls('127.0.0.1', 7860, '', fakeInterfaces), { local: ['http://127.0.0.1:7860/'], lan: [] });
    const message = await startupMessage(reachableUrls('0.0.0.0', 7860, '', fakeInterfaces));
    assert.match(message, /http:\/\/127\.0\.0\.1:7860\/ {2}\(this computer\)/);
    assert.match(message, /http:\/\/192\.168\.1\.20:7860\/ {2}\(your network\)/);
    assert.match(message, /Scan to open http:\/\/192\.168\.1\.20:7860\//);
    assert.match(message, /[▀▄█]/, 'a QR code drawn in block characters');
    assert.doesNotMatch(await startupMessage(reachableUrls('127.0.0.1', 7860, '')), /Scan/);
  });

  test('QR codes: terminal and SVG', async () => {
    const t = await qrTerminal('http://192.168.1.20:7860/');
    assert.ok(t.split('\n').length > 10);
    const svg = await qrSvgDataUrl('http://192.168.1.20:7860/');
    assert.match(Buffer.from(svg.split(',')[1], 'base64').toString(), /^<svg[^>]*viewBox/);
  });

  test('/share: a loopback page warns; a LAN or public address is shared as it is', async () => {
    // ekspresi.lan: a name other devices use for this machine (--allow-host; other names get 421).
    const local = await startSharingServer(models.dir, { flag: false, allowedHosts: ['ekspresi.lan'] });
    const lan = await startSharingServer(models.dir, { flag: false, listenHost: '0.0.0.0' });
    const pub = await startSharingServer(models.dir, { flag: false, publicUrl: 'https://demo.example.org/ekspresi/' });
    try {
      const a = await (await fetch(`${local.url}/share`, { headers: { 'HX-Request': 'true' } })).text();
      assert.match(a, new RegExp(`id="share-url">${local.url}/<`));
      assert.match(a, /only works on this computer/);
      assert.doesNotMatch(a, /<img class="qr"/, 'no QR code for an address other devices cannot open');
      assert.doesNotMatch(a, /<html/, 'a partial for htmx');
      // Opened through a name other devices use: that is the link.
      const b = await getWithHost(`${local.url}/share`, 'ekspresi.lan:7860');
      assert.match(b, /id="share-url">http:\/\/ekspresi\.lan:7860\/</);
      assert.match(b, /<html/, 'a whole page without htmx');
      assert.match(b, /<img class="qr" src="data:image\/svg\+xml;base64,/);
      // Listening on all interfaces and opened on loopback: the LAN address (when this machine has one).
      const c = await (await fetch(`${lan.url}/share`)).text();
      const port = new URL(lan.url).port;
      const first = lanAddresses()[0];
      if (first) assert.match(c, new RegExp(`id="share-url">http://\\[?${first.replace(/\./g, '\\.')}\\]?:${port}/<`));
      const d = await (await fetch(`${pub.url}/share`)).text();
      assert.match(d, /id="share-url">https:\/\/demo\.example\.org\/ekspresi\/</);
      assert.match(d, /<img class="qr" src="data:image\/svg\+xml;base64,/);
    } finally {
      await Promise.all([local.close(), lan.close(), pub.close()]);
    }
  });
});

describe('security headers', () => {
  let server: SharingServer;
  before(async () => {
    server = await startSharingServer(models.dir);
  });
  after(async () => {
    await server?.close();
  });

  test('a strict CSP, nosniff and friends on pages, partials, JSON and files', async () => {
    const responses = [
      await fetch(`${server.url}/`),
      await fetch(`${server.url}/api/models`),
      await fetch(`${server.url}/static/app.js`),
      await fetch(`${server.url}/no-such-page`),
      await fetch(`${server.url}/predict`, { method: 'POST', body: imageForm(await facePng(64)), headers: { 'HX-Request': 'true' } }),
    ];
    for (const res of responses) {
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/);
      // WebAssembly may compile (private mode's TF.js); JavaScript eval and inline scripts may not.
      assert.match(csp, /script-src 'self'( 'wasm-unsafe-eval')?(;|$)/, 'scripts from this server only: no inline, no eval');
      assert.doesNotMatch(csp, /unsafe-inline|'unsafe-eval'/);
      assert.match(csp, /object-src 'none'/);
      assert.match(csp, /frame-ancestors 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
      await res.arrayBuffer();
    }
  });

  test('no page has an inline script, an inline handler or a style attribute', async () => {
    const fd = imageForm(await facePng(96));
    const pages = [
      await (await fetch(`${server.url}/`)).text(),
      await (await fetch(`${server.url}/api`)).text(),
      await (await fetch(`${server.url}/flagged`)).text(),
      await (await fetch(`${server.url}/share`)).text(),
      await (await fetch(`${server.url}/compare`)).text(),
      await (await fetch(`${server.url}/no-such-page`)).text(),
      await (await fetch(`${server.url}/predict`, { method: 'POST', body: fd })).text(),
    ];
    for (const html of pages) {
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
        const [, attrs, body] = m;
        if (/type="application\/json"/.test(attrs)) continue; // a data block, never run
        assert.match(attrs, /\ssrc="/, `inline script: ${m[0].slice(0, 80)}`);
        assert.equal(body.trim(), '');
      }
      assert.doesNotMatch(html, /\son[a-z]+="/i, 'inline event handler');
      assert.doesNotMatch(html, /\sstyle="/i, 'style attribute (blocked by style-src)');
      assert.doesNotMatch(html, /javascript:/i);
    }
  });
});
