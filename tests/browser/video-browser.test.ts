/**
 * The video timeline in a real browser: Chromium opens /video, loads private
 * mode's runtime (TF.js wasm, BlazeFace, the shipped model) and analyses the
 * committed test videos (tests/fixtures/faces-4s.*, made from the demo photos
 * by tests/helpers/make-video-fixture.ts): three faces panning for 2.3 s,
 * then a cut to one new face. The timeline has every sample, faces keep
 * their ids, the chart and the frame view follow the cursor, the CSV is
 * right, Cancel stops the work, and no request carries a frame.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CSV_COLUMNS, LABELS } from '../../static/video/csv.js';
import { sampleTimes } from '../../static/video/sample.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { launchChromium, noChromium, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures');
const MP4 = path.join(FIXTURES, 'faces-4s.mp4');
const WEBM = path.join(FIXTURES, 'faces-4s.webm');
/** Where the fixture cuts from the three panning faces to the close-up. */
const CUT_S = 2.3;
const skip = noChromium || (fs.existsSync(MP4) ? false : 'tests/fixtures/faces-4s.mp4 is missing');

let server: TestServer;
let noPrivate: TestServer;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  if (skip) return;
  const models = path.join(PROJECT_ROOT, 'models');
  server = await startTestServer(models, { privateMode: true, rateLimitPerMinute: 0 });
  noPrivate = await startTestServer(models, { privateMode: false, rateLimitPerMinute: 0 });
  browser = await launchChromium();
  // One context: the second page takes TF.js and the model from the HTTP cache.
  context = await browser.newContext({ viewport: { width: 1000, height: 1300 }, acceptDownloads: true });
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await noPrivate?.close();
});

/** A page that records every request that could carry a frame (anything but a GET) and every API call. */
async function openPage(base: string): Promise<{ page: Page; uploads: string[]; errors: string[] }> {
  const page = await context.newPage();
  const uploads: string[] = [];
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (r.method() !== 'GET' || r.postData() || /\/(api\/|predict)/.test(r.url())) uploads.push(`${r.method()} ${r.url()}`);
  });
  await page.goto(`${base}/video`);
  return { page, uploads, errors };
}

const attr = async (page: Page, name: string) => page.getAttribute('#video-timeline', name);

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById('video-timeline')?.getAttribute('data-runtime') !== 'loading', null, {
    timeout: 300_000,
  });
  assert.equal(await attr(page, 'data-runtime'), 'ready', (await page.textContent('#video-status')) ?? '');
}

interface Row {
  time: number;
  face: number;
  box: number[];
  scores: number[];
  label: string;
}

function parseCsv(text: string): { header: string[]; rows: Row[] } {
  const [head, ...lines] = text.trim().split('\n');
  return {
    header: head.split(','),
    rows: lines
      .map((l) => l.split(','))
      .map((c) => ({
        time: Number(c[0]),
        face: c[1] === '' ? 0 : Number(c[1]),
        box: c.slice(2, 6).map(Number),
        scores: c.slice(6, 13).map(Number),
        label: c[13],
      })),
  };
}

async function downloadCsv(page: Page): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#video-csv')]);
  const file = await download.path();
  return { name: download.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

describe('the video timeline in the browser', { skip }, () => {
  test(
    'a video becomes a timeline: every sample, stable face ids, chart, frame view, CSV, nothing uploaded',
    { timeout: 900_000 },
    async () => {
      const { page, uploads, errors } = await openPage(server.url);
      await ready(page);
      assert.match((await page.textContent('#video-status')) ?? '', /never uploaded/);
      // Before a video: no empty chart, face picker or frame view.
      assert.equal(await page.isVisible('#video-results'), false, 'no results area yet');
      assert.equal(await page.isVisible('#video-progress-row'), false, 'no progress bar yet');

      await page.setInputFiles('#video-file', MP4);
      await page.waitForSelector('#video-start:not([disabled])');
      const expected = sampleTimes(4, 5);
      assert.match((await page.textContent('#video-status')) ?? '', new RegExp(`${expected.length} frames at 5 a second`));
      await page.click('#video-start');
      // Progress shows while it runs.
      await page.waitForSelector('#video-progress-row:not([hidden])');
      await page.waitForFunction(() => document.getElementById('video-timeline')?.getAttribute('data-state') !== 'running', null, {
        timeout: 600_000,
      });
      assert.equal(await attr(page, 'data-state'), 'done', (await page.textContent('#video-status')) ?? '');
      assert.equal(Number(await attr(page, 'data-samples')), expected.length);
      assert.equal(await page.textContent('#video-progress-text'), `${expected.length} / ${expected.length} frames (100%)`);
      const msFrame = Number(await attr(page, 'data-ms-per-frame'));
      console.log(
        `# video timeline: ${expected.length} frames of 640x360, ${msFrame} ms a frame in the browser (seek + detection + model; this machine is busy)`,
      );

      // The CSV: every sample time, three faces followed through the pan, one new face after the cut.
      const csv = await downloadCsv(page);
      assert.equal(csv.name, 'faces-4s-timeline.csv');
      const { header, rows } = parseCsv(csv.text);
      assert.deepEqual(header, CSV_COLUMNS);
      assert.deepEqual([...new Set(rows.map((r) => r.time))], expected);
      const before = rows.filter((r) => r.time < CUT_S && r.face);
      const afterCut = rows.filter((r) => r.time > CUT_S && r.face);
      const idsBefore = [...new Set(before.map((r) => r.face))].sort();
      const idsAfter = [...new Set(afterCut.map((r) => r.face))];
      assert.deepEqual(idsBefore, [1, 2, 3], `faces before the cut: ${idsBefore}`);
      assert.deepEqual(idsAfter, [4], `faces after the cut: ${idsAfter}`);
      const samplesBefore = expected.filter((t) => t < CUT_S).length;
      for (const id of [1, 2, 3]) {
        const seen = before.filter((r) => r.face === id).length;
        assert.ok(seen >= samplesBefore - 2, `face ${id} found in only ${seen} of ${samplesBefore} samples`);
      }
      assert.ok(afterCut.length >= expected.length - samplesBefore - 2, `the close-up found in only ${afterCut.length} samples`);
      // Ids follow the faces: left to right in every sample, never swapped.
      for (const t of expected.filter((x) => x < CUT_S)) {
        const xs = before
          .filter((r) => r.time === t)
          .sort((a, b) => a.face - b.face)
          .map((r) => r.box[0]);
        assert.deepEqual(
          xs,
          [...xs].sort((a, b) => a - b),
          `faces out of order at ${t} s`,
        );
      }
      for (const r of [...before, ...afterCut]) {
        assert.ok(Math.abs(r.scores.reduce((a, b) => a + b, 0) - 1) < 0.01, `probabilities of face ${r.face} at ${r.time} s`);
        assert.equal(r.label, LABELS[r.scores.indexOf(Math.max(...r.scores))]);
        assert.ok(r.box[0] >= -50 && r.box[0] + r.box[2] <= 690 && r.box[2] > 40, `box ${r.box}`);
      }

      // The face list and the chart.
      assert.equal(await page.locator('#video-face option').count(), 4);
      assert.equal(await page.inputValue('#video-face'), '1');
      assert.equal(await page.locator('#video-chart .uplot canvas').count(), 1);
      assert.equal(await page.locator('#video-chart .u-legend .u-series').count(), 1 + LABELS.length);

      // The slider shows a frame after the cut with its one face ...
      await page.locator('#video-frame-index').fill('15');
      await page.waitForFunction(() => document.getElementById('video-frame-figure')?.getAttribute('data-index') === '15', null, {
        timeout: 60_000,
      });
      assert.equal(await page.getAttribute('#video-frame-figure', 'data-time'), String(expected[15]));
      assert.equal(await page.getAttribute('#video-frame-figure', 'data-faces'), '4');
      assert.match((await page.textContent('#video-frame-caption')) ?? '', /3\.00 s: 1 face\./);
      // ... and the cursor over the chart's first quarter one before it, with three.
      const over = (await page.locator('#video-chart .u-over').boundingBox())!;
      await page.mouse.move(over.x + over.width * 0.25, over.y + over.height / 2);
      await page.waitForFunction(() => Number(document.getElementById('video-frame-figure')?.getAttribute('data-time')) < 2.3, null, {
        timeout: 60_000,
      });
      assert.equal(await page.getAttribute('#video-frame-figure', 'data-faces'), '1 2 3');
      assert.equal(await page.inputValue('#video-frame-index'), await page.getAttribute('#video-frame-figure', 'data-index'));
      // A picture for people (docs/images/ has a reduced copy), not a check: a busy machine may not draw in time.
      await page
        .screenshot({ path: path.join(OUT, 'video-timeline.png'), fullPage: true, timeout: 120_000 })
        .catch((e: Error) => console.log(`# no screenshot: ${e.message.split('\n')[0]}`));
      // Another face picked: the chart shows it.
      await page.selectOption('#video-face', '4');
      await page.mouse.move(over.x + over.width * 0.9, over.y + over.height / 2);
      await page.waitForFunction(() => Number(document.getElementById('video-frame-figure')?.getAttribute('data-time')) > 2.3, null, {
        timeout: 60_000,
      });
      const legend = await page.locator('#video-chart .u-legend .u-series').nth(1).textContent();
      assert.match(legend ?? '', /\d+\.\d%/, "the legend shows face 4's probability at the cursor");

      assert.deepEqual(uploads, [], 'no frame may be uploaded');
      assert.deepEqual(errors, []);
      await page.close();
    },
  );

  test(
    'Cancel stops a long analysis at once and keeps the part done; a file that is not a video is refused plainly',
    { timeout: 900_000 },
    async () => {
      const { page, uploads, errors } = await openPage(server.url);
      await ready(page);
      await page.setInputFiles('#video-file', { name: 'notes.webm', mimeType: 'video/webm', buffer: Buffer.from('this is not a video') });
      await page.waitForFunction(() => document.getElementById('video-status')?.classList.contains('video-error'), null, {
        timeout: 60_000,
      });
      assert.match((await page.textContent('#video-status')) ?? '', /cannot be played/);
      assert.equal(await page.isDisabled('#video-start'), true);

      await page.fill('#video-fps', '15');
      await page.setInputFiles('#video-file', WEBM);
      await page.waitForSelector('#video-start:not([disabled])');
      const total = sampleTimes(4, 15).length;
      await page.click('#video-start');
      await page.waitForFunction(() => Number(document.getElementById('video-timeline')?.getAttribute('data-done')) >= 3, null, {
        timeout: 600_000,
      });
      assert.equal(await attr(page, 'data-total'), String(total));
      await page.click('#video-cancel');
      await page.waitForFunction(() => document.getElementById('video-timeline')?.getAttribute('data-state') === 'cancelled', null, {
        timeout: 60_000,
      });
      const done = Number(await attr(page, 'data-done'));
      assert.ok(done >= 3 && done < total, `${done} of ${total}`);
      // Nothing more happens after Cancel.
      await page.waitForTimeout(2000);
      assert.equal(Number(await attr(page, 'data-done')), done);
      assert.match((await page.textContent('#video-status')) ?? '', new RegExp(`Cancelled after ${done} of ${total} frames`));
      assert.equal(await page.isDisabled('#video-start'), false);
      assert.equal(await page.isDisabled('#video-cancel'), true);
      // The part done is still a timeline.
      const { rows } = parseCsv((await downloadCsv(page)).text);
      assert.equal(new Set(rows.map((r) => r.time)).size, done);
      assert.deepEqual(uploads, []);
      assert.deepEqual(errors, []);
      await page.close();
    },
  );

  test('without private mode the page says the timeline needs it, and sends nothing', { timeout: 120_000 }, async () => {
    const { page, uploads, errors } = await openPage(noPrivate.url);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    assert.match((await page.textContent('#video-unavailable')) ?? '', /runs only in private mode.*Nothing is uploaded/);
    assert.equal(await page.isDisabled('#video-file'), true);
    assert.equal(await page.isDisabled('#video-start'), true);
    await page.waitForTimeout(500);
    assert.deepEqual(
      requests.filter((u) => /\/private\/|\/vendor\/tfjs\//.test(u)),
      [],
    );
    assert.deepEqual(uploads, []);
    assert.deepEqual(errors, []);
    // The page is there in Indonesian too.
    await page.goto(`${noPrivate.url}/video?lang=id`);
    assert.match((await page.textContent('h1')) ?? '', /Ekspresi sepanjang video/);
    assert.match((await page.textContent('#video-unavailable')) ?? '', /mode privat/);
    await page.close();
  });
});
