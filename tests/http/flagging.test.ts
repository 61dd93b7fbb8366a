/**
 * Flagging over real HTTP with a real SQLite file in a temp folder: the flag
 * token, the row and the crop on disk, the review page, removal, and the
 * export read back by the training data loader (and by the real CLI).
 * The browser side (clicking "Wrong? Flag it") is in sharing-browser.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { FlagSigner } from '../../src/server/flagging/token.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { loadDataSet } from '../../src/training/dataset.js';
import { FACE_SIZE, LABELS } from '../../src/types.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

const run = promisify(execFile);
let models: TestModels;
let server: SharingServer;

before(async () => {
  models = await makeTestModels();
  server = await startSharingServer(models.dir);
});
after(async () => {
  await server?.close();
  await models?.cleanup();
});

const UPLOAD_NAME = 'my-private-holiday-photo.png';

async function predictPartial(): Promise<string> {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(await facePng(120))], { type: 'image/png' }), UPLOAD_NAME);
  const res = await fetch(`${server.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true' } });
  assert.equal(res.status, 200);
  return res.text();
}

function tokenOf(html: string): string {
  const m = /<input type="hidden" name="token" value="([^"]+)">/.exec(html);
  assert.ok(m, 'the result has a flag form with a token');
  return m[1];
}

/** What a browser on the demo's own page sends with a form post (the CSRF check wants it). */
const SAME_ORIGIN = { 'Sec-Fetch-Site': 'same-origin' };

async function flag(fields: Record<string, string>, headers: Record<string, string> = SAME_ORIGIN): Promise<Response> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  return fetch(`${server.url}/flag`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true', ...headers } });
}

function dbRows(): Array<Record<string, unknown>> {
  const db = new Database(path.join(server.dataDir, 'flagged', 'flags.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM flags ORDER BY id').all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
}

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('flag token', () => {
  test('round trip, tampering, expiry, another key', () => {
    let now = 1_000_000;
    const signer = new FlagSigner(60_000, undefined, () => now);
    const face = new Uint8Array(FACE_SIZE * FACE_SIZE).map((_, i) => i % 256);
    const scores = { angry: 0.1, disgust: 0.05, fear: 0.05, happy: 0.5, sad: 0.1, surprise: 0.1, neutral: 0.1 };
    const token = signer.sign('tiny-a', scores, face);
    const ok = signer.verify(token);
    assert.ok(ok.ok);
    assert.equal(ok.subject.model, 'tiny-a');
    assert.deepEqual(ok.subject.face, face);
    assert.deepEqual(ok.subject.scores, scores);
    const [body, mac] = token.split('.');
    assert.deepEqual(signer.verify(`${body.slice(0, -2)}AA.${mac}`), { ok: false, reason: 'invalid' });
    assert.deepEqual(signer.verify('garbage'), { ok: false, reason: 'invalid' });
    assert.deepEqual(new FlagSigner().verify(token), { ok: false, reason: 'invalid' });
    now += 61_000;
    assert.deepEqual(signer.verify(token), { ok: false, reason: 'expired' });
  });

  test('a token is good for one flag: redeem spends it, release gives it back', () => {
    const signer = new FlagSigner();
    const face = new Uint8Array(FACE_SIZE * FACE_SIZE);
    const scores = { angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 };
    const a = signer.sign('tiny-a', scores, face);
    const b = signer.sign('tiny-a', scores, face);
    assert.notEqual(a, b, 'the same face twice still gets two tokens');
    assert.ok(signer.redeem(a).ok);
    assert.deepEqual(signer.redeem(a), { ok: false, reason: 'used' });
    assert.ok(signer.redeem(b).ok, 'spending one does not spend the other');
    signer.release(a); // its flag could not be saved
    assert.ok(signer.redeem(a).ok);
    assert.deepEqual(signer.redeem('garbage'), { ok: false, reason: 'invalid' });
  });
});

describe('flagging over HTTP', () => {
  test('a flag is a row in SQLite and a 48x48 crop with a random name; the upload itself is not kept', async () => {
    const html = await predictPartial();
    assert.match(html, /<details class="flag">/);
    assert.match(html, /Wrong\? Flag it/);
    const res = await flag({ token: tokenOf(html), label: 'sad', note: 'she is squinting' });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Saved as “sad”/);

    const rows = dbRows();
    assert.equal(rows.length, 1);
    const row = rows[0];
    assert.equal(row.label, 'sad');
    assert.equal(row.note, 'she is squinting');
    assert.equal(row.model, 'tiny-b');
    assert.ok(!Number.isNaN(Date.parse(String(row.created))), 'created is a time');
    const scores = JSON.parse(String(row.scores)) as Record<string, number>;
    assert.deepEqual(Object.keys(scores), [...LABELS]);
    assert.ok(Math.abs(Object.values(scores).reduce((a, b) => a + b, 0) - 1) < 1e-3);
    assert.equal(
      row.predicted,
      LABELS.reduce((a, b) => (scores[b] > scores[a] ? b : a)),
    );

    assert.match(String(row.crop), /^[0-9a-f]{32}\.png$/);
    const crop = path.join(server.dataDir, 'flagged', 'crops', String(row.crop));
    const meta = await sharp(crop).metadata();
    assert.equal(meta.width, FACE_SIZE);
    assert.equal(meta.height, FACE_SIZE);

    // Nothing else was written: the database (and its WAL files) and the one crop.
    const files = filesUnder(server.dataDir).map((f) => path.relative(server.dataDir, f));
    assert.deepEqual(
      files.filter((f) => !/^flagged\/flags\.sqlite(-wal|-shm)?$/.test(f)),
      [path.join('flagged', 'crops', String(row.crop))],
    );
    for (const f of files) assert.ok(!f.includes('holiday'), `the upload's name is not used: ${f}`);
  });

  test('a forged or broken flag is refused and stores nothing', async () => {
    const before = dbRows().length;
    const token = tokenOf(await predictPartial());
    const [body, mac] = token.split('.');
    const forged = `${Buffer.from(JSON.stringify({ m: 'x', s: [1, 0, 0, 0, 0, 0, 0], f: '', t: Date.now() })).toString('base64url')}.${mac}`;
    for (const [fields, message] of [
      [{ token: forged, label: 'sad' }, /could not be checked/],
      [{ token: `${body}.${mac}`, label: 'bored' }, /choose the expression/],
      [{ token, label: 'happy', note: 'x'.repeat(501) }, /too long/],
    ] as const) {
      const res = await flag(fields);
      assert.equal(res.status, 400);
      assert.match(await res.text(), message);
    }
    assert.equal(dbRows().length, before);
  });

  test('another site cannot post flags with the visitor’s browser (CSRF)', async () => {
    const before = dbRows().length;
    const token = tokenOf(await predictPartial());
    const attempts: Array<Record<string, string>> = [{ 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'https://evil.example' }, {}];
    for (const headers of attempts) {
      const res = await flag({ token, label: 'sad' }, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
    }
    assert.equal(dbRows().length, before);
    const ok = await flag({ token, label: 'sad' }, { Origin: server.origin });
    assert.equal(ok.status, 200, 'the page itself (same origin) may');
    await server.flagging!.store.remove(dbRows().at(-1)!.id as number); // leave one flag for the next test
  });

  test('the review page lists flags with their crops; export and removal', async () => {
    const page = await (await fetch(`${server.url}/flagged`)).text();
    assert.match(page, /Flagged faces/);
    assert.match(page, /she is squinting/);
    const src = /<img class="face-crop" src="([^"]+)"/.exec(page)?.[1];
    assert.ok(src);
    const img = await fetch(server.origin + src);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/png');
    assert.equal((await fetch(`${server.url}/flagged/crops/..%2Fflags.sqlite`)).status, 404);

    const csv = await fetch(`${server.url}/flagged/export.csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment/);
    const text = await csv.text();
    assert.equal(text.split('\n')[0], 'emotion,pixels,Usage');

    // Remove it: the row and its crop go.
    const id = dbRows()[0].id as number;
    const crop = path.join(server.dataDir, 'flagged', 'crops', String(dbRows()[0].crop));
    const forged = await fetch(`${server.url}/flagged/${id}/delete`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    assert.equal(forged.status, 403, 'another site cannot remove flags');
    assert.equal(dbRows().length, 1);
    const del = await fetch(`${server.url}/flagged/${id}/delete`, { method: 'POST', redirect: 'manual', headers: SAME_ORIGIN });
    assert.equal(del.status, 303);
    assert.equal(dbRows().length, 0);
    assert.ok(!fs.existsSync(crop));
  });

  test('the export is a FER2013 CSV the training loader reads, from the page and from `npm run flagged`', { timeout: 60_000 }, async () => {
    await flag({ token: tokenOf(await predictPartial()), label: 'fear', note: '' });
    await flag({ token: tokenOf(await predictPartial()), label: 'happy', note: 'laughing, not surprised' });
    const rows = dbRows();
    assert.equal(rows.length, 2);
    const out = path.join(server.dataDir, 'export-http.csv');
    fs.writeFileSync(out, await (await fetch(`${server.url}/flagged/export.csv`)).text());

    const cliOut = path.join(server.dataDir, 'export-cli.csv');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/flagged.ts', 'export', '--out', cliOut, '--data-dir', server.dataDir],
      { cwd: PROJECT_ROOT },
    );
    assert.match(stdout, /Wrote 2 flagged faces/);
    assert.equal(fs.readFileSync(cliOut, 'utf8'), fs.readFileSync(out, 'utf8'));

    const data = await loadDataSet(cliOut);
    const train = data.get('Training');
    assert.ok(train);
    assert.equal(train.size, 2);
    assert.deepEqual([...train.labels], [LABELS.indexOf('fear'), LABELS.indexOf('happy')]);
    // The pixels are exactly the stored crop.
    const { data: px } = await sharp(path.join(server.dataDir, 'flagged', 'crops', String(rows[0].crop)))
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([...train.pixels.subarray(0, FACE_SIZE * FACE_SIZE)], [...px]);
  });

  test('a flag token flags once: replays, one after another or at the same time, get 409 and store nothing', async () => {
    const before = dbRows().length;
    const crops = () => fs.readdirSync(path.join(server.dataDir, 'flagged', 'crops')).length;
    const cropsBefore = crops();
    const token = tokenOf(await predictPartial());
    assert.equal((await flag({ token, label: 'sad' })).status, 200);
    const replays = [];
    for (let i = 0; i < 3; i++) replays.push(await flag({ token, label: 'angry' }));
    replays.push(...(await Promise.all(Array.from({ length: 3 }, () => flag({ token, label: 'fear' })))));
    assert.deepEqual(
      replays.map((r) => r.status),
      [409, 409, 409, 409, 409, 409],
    );
    assert.match(await replays[0].text(), /already been flagged/);
    // Two fresh tokens sent at the same time: each flags once.
    const [t1, t2] = [tokenOf(await predictPartial()), tokenOf(await predictPartial())];
    const race = await Promise.all([t1, t1, t2, t2].map((t) => flag({ token: t, label: 'happy' })));
    assert.deepEqual(race.map((r) => r.status).sort(), [200, 200, 409, 409]);
    assert.equal(dbRows().length, before + 3);
    assert.equal(crops(), cropsBefore + 3);
  });

  test('flag ids are digits only: "0x10", "1e1", " 3" and friends delete nothing', async () => {
    const store = server.flagging!.store;
    const face = new Uint8Array(FACE_SIZE * FACE_SIZE);
    const scores = { angry: 0, disgust: 0, fear: 0, happy: 1, sad: 0, surprise: 0, neutral: 0 };
    while (Math.max(0, ...dbRows().map((r) => r.id as number)) < 16)
      await store.add({ model: 'tiny-a', scores, face, label: 'sad', note: '' });
    const before = dbRows().length;
    for (const id of ['0x10', '1e1', '%203', '3%20', '3.0', '+3', '03', '0b11', '-3', '0']) {
      const res = await fetch(`${server.url}/flagged/${id}/delete`, { method: 'POST', redirect: 'manual', headers: SAME_ORIGIN });
      assert.equal(res.status, 404, id);
      await res.arrayBuffer();
    }
    assert.equal(dbRows().length, before, 'nothing was deleted');
    const id = dbRows().at(-1)!.id as number;
    assert.equal(
      (await fetch(`${server.url}/flagged/${id}/delete`, { method: 'POST', redirect: 'manual', headers: SAME_ORIGIN })).status,
      303,
    );
    assert.equal(dbRows().length, before - 1);
  });
});

describe('flagging switched off', () => {
  test('no control on results, and /flag says so', async () => {
    const off = await startSharingServer(models.dir, { flag: false });
    try {
      const fd = new FormData();
      fd.append('image', new Blob([new Uint8Array(await facePng(96))], { type: 'image/png' }), 'a.png');
      const html = await (await fetch(`${off.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true' } })).text();
      assert.match(html, /result-card/);
      assert.doesNotMatch(html, /class="flag"/);
      const res = await fetch(`${off.url}/flag`, {
        method: 'POST',
        body: new FormData(),
        headers: { 'HX-Request': 'true', ...SAME_ORIGIN },
      });
      assert.equal(res.status, 404);
      assert.match(await (await fetch(`${off.url}/flagged`)).text(), /turned off/);
      assert.doesNotMatch(await (await fetch(`${off.url}/`)).text(), /href="\/flagged"/, 'no link to a review page that is off');
    } finally {
      await off.close();
    }
  });
});

describe('finding the review page', () => {
  test('with flagging on, every page links /flagged (under the base path too)', async () => {
    const prefixed = await startSharingServer(models.dir, { basePath: '/demo' });
    try {
      for (const [base, where] of [
        [server.url, '/'],
        [server.url, '/compare'],
        [server.url, '/api'],
        [prefixed.url, '/'],
      ] as const) {
        const html = await (await fetch(`${base}${where}`)).text();
        const prefix = new URL(base).pathname.replace(/\/$/, '');
        assert.match(html, new RegExp(`<a href="${prefix}/flagged">Flagged faces</a>`), `${base}${where}`);
      }
    } finally {
      await prefixed.close();
    }
  });
});

describe('side by side', () => {
  test("every model column has its own flag form, and a flag names that column's model", async () => {
    const fd = new FormData();
    fd.append('image', new Blob([new Uint8Array(await facePng(120))], { type: 'image/png' }), UPLOAD_NAME);
    fd.append('all', '1');
    const res = await fetch(`${server.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true' } });
    assert.equal(res.status, 200);
    const html = await res.text();
    const columns = [...html.matchAll(/<section class="model-column" data-model="([^"]+)"/g)].map((m) => m[1]);
    const tokens = [...html.matchAll(/<input type="hidden" name="token" value="([^"]+)">/g)].map((m) => m[1]);
    assert.ok(columns.length >= 2, 'two models side by side');
    assert.equal(tokens.length, columns.length, 'one flag form per model column');
    const before = dbRows().length;
    const flagged = await flag({ token: tokens[1], label: 'happy', note: '' });
    assert.equal(flagged.status, 200);
    const rows = dbRows();
    assert.equal(rows.length, before + 1);
    assert.equal(rows.at(-1)!.model, columns[1]);
    await server.flagging!.store.remove(rows.at(-1)!.id as number);
  });
});
