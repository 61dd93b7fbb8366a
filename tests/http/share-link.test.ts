/**
 * `npm start -- --share`: the real CLI as a child process and the real
 * tunnel client (@n8n/localtunnel) through a localtunnel server on loopback.
 * The link works end to end and is password-protected; when the tunnel
 * cannot be opened the reason is printed and the local server keeps running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startChildServer, type ChildServer } from '../../src/bench/child-server.js';
import { generatePassword, generateShareLogin } from '../../src/server/sharing/share-link.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTunnelServer } from '../helpers/tunnel-server.js';

let models: TestModels;
before(async () => {
  models = await makeTestModels();
});
after(async () => {
  await models?.cleanup();
});

function start(extra: string[]): Promise<ChildServer> {
  // The environment must not choose a tunnel server or users for these tests.
  const env = { ...process.env };
  delete env.EKSPRESI_SHARE_SERVER;
  delete env.EKSPRESI_AUTH;
  return startChildServer({
    args: ['--models', models.dir, '--quiet', '--no-flagging', '--rate-limit', '0', ...extra],
    timeoutMs: 120_000,
    env,
  });
}

/** Waits until the child's output matches `re` (or fails with what it printed). */
async function waitFor(child: ChildServer, re: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  const until = Date.now() + ms;
  for (;;) {
    const m = re.exec(child.output());
    if (m) return m;
    if (Date.now() > until) throw new Error(`no ${re} within ${ms} ms in:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('share password', () => {
  test('is 20 unambiguous characters in groups of five, different every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      assert.match(p, /^[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){3}$/);
      seen.add(p);
    }
    assert.equal(seen.size, 200);
    assert.equal(generateShareLogin().username, 'guest');
  });
});

describe('--share', () => {
  test('opens a public link through the tunnel server; it asks for the printed password', { timeout: 180_000 }, async () => {
    const tunnel = await startTunnelServer();
    const child = await start(['--share', '--share-server', tunnel.controlUrl]);
    try {
      const [, link] = await waitFor(child, /Public link \(through [^)]+\):\n\s+(\S+)/);
      assert.equal(link, `${tunnel.publicUrl}/`);
      const [, user, password] = await waitFor(child, /user: (\S+)\s+password: (\S+)/);
      assert.equal(user, 'guest');
      assert.match(child.output(), /Stop sharing: Ctrl-C/);
      assert.match(child.output(), /each start gives a new link and password/);

      // Through the tunnel: the page needs the password, the health check does not.
      assert.equal((await fetch(`${link}healthz`)).status, 200);
      const refused = await fetch(link);
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
      const page = await fetch(link, { headers: basic(user, password) });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const wrong = await fetch(link, { headers: basic(user, `${password}x`) });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();

      // A prediction through the tunnel.
      const body = new FormData();
      body.set('image', new Blob([new Uint8Array(await facePng(96))], { type: 'image/png' }), 'face.png');
      const res = await fetch(`${link}api/predict?whole=1`, { method: 'POST', body, headers: basic(user, password) });
      assert.equal(res.status, 200, await res.clone().text());
      const json = (await res.json()) as { faces: Array<{ scores: Record<string, number> }> };
      assert.equal(json.faces.length, 1);

      // The Share panel gives the public link and the password.
      const share = await (await fetch(`${link}share`, { headers: basic(user, password) })).text();
      assert.ok(share.includes(`href="${link}"`), share);
      assert.ok(share.includes(password));
      assert.ok(tunnel.forwarded() >= 6);

      // The local address asks for the same password.
      const local = await fetch(`${child.url}/`);
      assert.equal(local.status, 401);
      await local.body?.cancel();
    } finally {
      const exit = await child.stop('SIGTERM');
      await tunnel.close();
      assert.equal(exit.code, 0, child.output());
    }
  });

  test('with --auth users, the link uses them and no password is generated', { timeout: 180_000 }, async () => {
    const tunnel = await startTunnelServer();
    const child = await start(['--share', '--share-server', tunnel.controlUrl, '--auth', 'ann:correct-horse']);
    try {
      const [, link] = await waitFor(child, /Public link \(through [^)]+\):\n\s+(\S+)/);
      assert.doesNotMatch(child.output(), /password: /);
      assert.match(child.output(), /protected by the --auth users you gave/);
      const ok = await fetch(link, { headers: basic('ann', 'correct-horse') });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    } finally {
      await child.stop('SIGTERM');
      await tunnel.close();
    }
  });

  test('an unreachable tunnel server: a clear message, the local server keeps running', { timeout: 180_000 }, async () => {
    const port = await closedPort();
    const child = await start(['--share', '--share-server', `http://127.0.0.1:${port}`, '--share-timeout', '5']);
    try {
      await waitFor(child, /No public link; the demo keeps running/);
      assert.match(
        child.output(),
        new RegExp(`Could not reach the tunnel server http://127\\.0\\.0\\.1:${port}: the connection was refused\\.`),
      );
      const [, user, password] = await waitFor(child, /user (\S+), password (\S+)/);
      const res = await fetch(`${child.url}/`, { headers: basic(user, password) });
      assert.equal(res.status, 200);
      const share = await (await fetch(`${child.url}/share`, { headers: basic(user, password) })).text();
      assert.match(share, /could not be opened/);
      assert.ok(share.includes(password));
    } finally {
      const exit = await child.stop('SIGTERM');
      assert.equal(exit.code, 0, child.output());
    }
  });

  test('a tunnel server that gives no link: it gives up after --share-timeout and says so', { timeout: 180_000 }, async () => {
    const tunnel = await startTunnelServer({ refuseNew: true });
    const child = await start(['--share', '--share-server', tunnel.controlUrl, '--share-timeout', '2']);
    try {
      await waitFor(child, /No public link; the demo keeps running/);
      assert.match(child.output(), /answered, but gave no link within 2 s/);
      assert.equal((await fetch(`${child.url}/healthz`)).status, 200);
    } finally {
      const exit = await child.stop('SIGTERM');
      await tunnel.close();
      assert.equal(exit.code, 0, child.output());
    }
  });
});
