/**
 * The demo as people get it from a public server, in a real browser (Debian's
 * chromium through playwright-core): under --base-path with --auth, the
 * strict CSP in force, no console errors. Flag a face through the page and
 * find the row in SQLite and the crop on disk; download the export from
 * /flagged and load it with the training data loader; switch the language;
 * open the Share panel; and see the page wait and retry when the server is busy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { translator } from '../../src/server/i18n/index.js';
import { loadDataSet } from '../../src/training/dataset.js';
import { FACE_SIZE, LABELS } from '../../src/types.js';
import { launchChromium, noChromium as skip, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

const en = translator('en');
const id = translator('id');

let models: TestModels;
let server: SharingServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

before(async () => {
  if (skip) return;
  models = await makeTestModels();
  server = await startSharingServer(models.dir, { basePath: '/demo', auth: [{ username: 'teacher', password: 'kelas-2024' }] });
  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1000, height: 1200 },
    httpCredentials: { username: 'teacher', password: 'kelas-2024' },
    acceptDownloads: true,
    locale: 'en-GB',
  });
  page = await context.newPage();
  // Any console error - a CSP violation ("Refused to ..."), a failed load, a script error - fails the test.
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // ERR_ABORTED is the browser dropping a load because the test moved on to the next page.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await models?.cleanup();
});

/** Uploads a face photo through the form (as one face, when the page offers that) and waits for the result. */
async function analyse(p: Page): Promise<void> {
  const photo = path.join(OUT, 'sharing-face.png');
  fs.writeFileSync(photo, await facePng(160));
  await p.setInputFiles('#image', photo);
  if (await p.$('#opt-whole')) await p.check('#opt-whole');
  await p.click('#submit');
  await p.waitForSelector('#result .result-card .face');
}

test('flag a face in the browser: SQLite row, crop on disk, export loads for training', { skip, timeout: 180_000 }, async () => {
  const res = await page.goto(`${server.url}/`);
  assert.equal(res?.status(), 200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.equal(res?.headers()['x-content-type-options'], 'nosniff');
  await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });

  await analyse(page);
  await page.click('#result .face .flag summary');
  await page.check('#result .face .flag input[name="label"][value="sad"]');
  await page.fill('#result .face .flag textarea[name="note"]', 'looks sad to me');
  await page.screenshot({ path: path.join(OUT, 'sharing-flag-form.png'), fullPage: true });
  await page.click('#result .face .flag .flag-submit');
  await page.waitForSelector('#result .flag-done');
  assert.equal(await page.textContent('#result .flag-done'), en('flag.saved', { label: en('label.sad') }));
  assert.equal(new URL(page.url()).pathname, '/demo/', 'htmx swapped the form, no navigation');

  // The row in the real SQLite file, and its crop on disk.
  const db = new Database(path.join(server.dataDir, 'flagged', 'flags.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT * FROM flags').all() as Array<{
    label: string;
    note: string;
    crop: string;
    model: string;
    scores: string;
  }>;
  db.close();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].label, 'sad');
  assert.equal(rows[0].note, 'looks sad to me');
  assert.deepEqual(Object.keys(JSON.parse(rows[0].scores)), [...LABELS]);
  const crop = path.join(server.dataDir, 'flagged', 'crops', rows[0].crop);
  assert.ok(fs.existsSync(crop), 'the crop is on disk');

  // The review page shows it; its download is a FER2013 CSV the training loader reads.
  await page.goto(`${server.url}/flagged`);
  await page.waitForSelector('table.flagged tbody tr');
  assert.equal(await page.$eval('table.flagged img.face-crop', (img) => (img as HTMLImageElement).naturalWidth), FACE_SIZE);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href$="/flagged/export.csv"]')]);
  const csv = path.join(server.dataDir, 'download.csv');
  await download.saveAs(csv);
  const data = await loadDataSet(csv);
  const train = data.get('Training');
  assert.equal(train?.size, 1);
  assert.equal(train?.labels[0], LABELS.indexOf('sad'));
  await page.screenshot({ path: path.join(OUT, 'sharing-flagged.png'), fullPage: true });
});

test('the language switch: Bahasa Indonesia for the page and the seven labels, and back', { skip, timeout: 120_000 }, async () => {
  await page.goto(`${server.url}/`);
  await page.click('.lang-switch a[hreflang="id"]');
  await page.waitForFunction(() => document.documentElement.lang === 'id');
  assert.equal(await page.textContent('.tagline'), id('layout.tagline'));
  assert.equal((await page.textContent('.share-button'))?.trim(), id('share.button'));
  await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });
  await analyse(page);
  const labels = await page.$$eval('#result .face:first-of-type li.bar .bar-label', (els) => els.map((e) => e.textContent?.trim()));
  assert.deepEqual([...labels].sort(), LABELS.map((l) => id(`label.${l}`)).sort());
  assert.equal((await page.textContent('#result .flag summary'))?.trim(), id('flag.summary'));
  await page.screenshot({ path: path.join(OUT, 'sharing-indonesian.png'), fullPage: true });
  // The choice is remembered on the next page, and English comes back with the switch.
  await page.goto(`${server.url}/api`);
  assert.equal(await page.getAttribute('html', 'lang'), 'id');
  await page.click('.lang-switch a[hreflang="en"]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(new URL(page.url()).pathname, '/demo/api', 'the switch stays on the same page');
});

test(
  'the Share panel shows the link (no QR code for a loopback address) and closes with its button or Escape',
  { skip, timeout: 60_000 },
  async () => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });
    await page.click('.share-button');
    await page.waitForSelector('#share-panel .share-card');
    const href = await page.getAttribute('#share-url', 'href');
    assert.match(href ?? '', /^http:\/\/127\.0\.0\.1:\d+\/demo\/$/);
    assert.equal(await page.$('#share-panel img.qr'), null, '127.0.0.1 cannot be opened from a phone: no QR code');
    assert.ok((await page.textContent('#share-panel'))?.includes(en('share.loopbackOnly').slice(0, 40)), 'says why');
    await page.screenshot({ path: path.join(OUT, 'sharing-share-panel.png'), fullPage: false });
    await page.click('#share-panel .share-close');
    assert.equal(await page.$('#share-panel .share-card'), null);
    // Open again, close with Escape: focus goes back to the Share button.
    await page.click('.share-button');
    await page.waitForSelector('#share-panel .share-card');
    await page.keyboard.press('Escape');
    assert.equal(await page.$('#share-panel .share-card'), null);
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('share-button')), true);
  },
);

test('a busy server or a rate limit: the page counts down once, then retries by itself', { skip, timeout: 120_000 }, async () => {
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });
  // The first prediction is answered as the rate limit would answer it, the first retry as a full queue;
  // the second retry goes to the server.
  let calls = 0;
  const answers = [
    [429, en('limit.rate', { seconds: 2 })],
    [503, en('limit.busy', { seconds: 2 })],
  ] as const;
  await page.route('**/demo/predict', async (route) => {
    calls++;
    const answer = answers[calls - 1];
    if (answer) {
      await route.fulfill({
        status: answer[0],
        headers: { 'Content-Type': 'text/html; charset=utf-8', 'Retry-After': '2' },
        body: `<div class="error-card" role="alert"><h2>x</h2><p class="error-message">${answer[1]}</p></div>`,
      });
    } else {
      await route.continue();
    }
  });
  /** Every "N seconds" / "N s" the card shows: one countdown means exactly one. */
  const countdowns = async () => ((await page.textContent('#result .error-card')) ?? '').match(/\d+\s*(seconds|s\b)/g) ?? [];
  const photo = path.join(OUT, 'sharing-face.png');
  await page.setInputFiles('#image', photo);
  if (await page.$('#opt-whole')) await page.check('#opt-whole');
  await page.click('#submit');
  await page.waitForSelector('#result .error-card .retrying');
  assert.match((await page.textContent('#result .retrying')) ?? '', /many photos in a short time\. Trying again in \d s/);
  assert.equal((await countdowns()).length, 1, `one countdown: ${await page.textContent('#result .error-card')}`);
  await page.waitForFunction(() => /using the demo right now/.test(document.querySelector('#result .retrying')?.textContent ?? ''), null, {
    timeout: 10_000,
  });
  assert.equal((await countdowns()).length, 1, `one countdown: ${await page.textContent('#result .error-card')}`);
  await page.waitForSelector('#result .result-card .face', { timeout: 30_000 });
  assert.equal(calls, 3);
  await page.unroute('**/demo/predict');
  // Chromium logs every 4xx/5xx answer as a console error: these were on purpose.
  for (const status of [429, 503]) {
    const expected = problems.findIndex((m) => new RegExp(`status of ${status}`).test(m));
    if (expected >= 0) problems.splice(expected, 1);
  }
});

test('the API page works under the CSP, and nothing on any page logged an error', { skip, timeout: 60_000 }, async () => {
  await page.goto(`${server.url}/api`);
  await page.waitForSelector('#op-predict');
  await page.click('#op-predict button.copy');
  await page.screenshot({ path: path.join(OUT, 'sharing-api.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no console errors, CSP violations or failed requests');
});
