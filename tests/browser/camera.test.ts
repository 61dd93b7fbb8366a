/**
 * The Camera tab in a real browser with Chromium's fake camera (a synthetic
 * test pattern, no real device): start only on a click, a snapshot goes
 * through the form like an upload, Live sends frames one request at a time
 * and updates in place, and clear messages when the camera is denied or
 * absent. Skipped, with a message, where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import os from 'node:os';
import { launchChromium, noChromium as skip, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { demoPhoto, demoSkip, resizedJpeg } from '../helpers/face-photos.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let models: TestModels;
let server: TestServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  models = await makeTestModels();
  server = await startTestServer(models.dir);
  // A generated video instead of a webcam, and "allow" without a prompt.
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await models?.cleanup();
});

async function openCameraTab(page: Page): Promise<void> {
  await page.goto(server.url + '/');
  await page.waitForSelector('#input-tabs:not([hidden])');
  await page.click('#tab-camera');
  await page.waitForSelector('#camera-panel:not([hidden])');
}

test('Camera tab: snapshot through the form, Live one request at a time', { skip, timeout: 180_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Count API requests and how many are in flight at once.
  let inFlight = 0;
  let maxInFlight = 0;
  let answered = 0;
  page.on('request', (r) => {
    if (r.url().endsWith('/api/predict')) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
  });
  const done = (r: { url(): string }) => {
    if (r.url().endsWith('/api/predict')) {
      inFlight--;
      answered++;
    }
  };
  page.on('requestfinished', done);
  page.on('requestfailed', done);

  await openCameraTab(page);
  assert.equal(await page.isHidden('#dropzone'), true, 'the photo drop zone gives way to the camera');
  // Nothing is asked for before the click.
  assert.equal(await page.evaluate(() => (document.getElementById('camera-video') as HTMLVideoElement).srcObject), null);
  assert.equal(await page.isDisabled('#camera-snap'), true);

  await page.click('#camera-start');
  // The status is set once play() has settled, which can be after the first frame's size is known.
  await page.waitForFunction(() => /Camera on/.test(document.getElementById('camera-status')?.textContent ?? ''), null, {
    timeout: 20_000,
  });
  assert.ok(await page.evaluate(() => (document.getElementById('camera-video') as HTMLVideoElement).videoWidth > 0), 'the video plays');

  // Snapshot: the frame becomes the form's file and the usual result comes back.
  await page.click('#camera-snap');
  await page.waitForSelector('#result .result-card', { timeout: 60_000 });
  const fileName = await page.evaluate(() => (document.getElementById('image') as HTMLInputElement).files?.[0]?.name);
  assert.equal(fileName, 'camera-snapshot.jpg');
  // The fake camera shows a test pattern, not a face: the plain message and the whole-image offer.
  const faces = Number(await page.getAttribute('#result .result-card', 'data-faces'));
  if (faces === 0) assert.match((await page.textContent('#result')) ?? '', /No face was found/);
  assert.equal(await page.isDisabled('#camera-snap'), false, 'camera buttons stay usable after the form request');
  await page.screenshot({ path: path.join(OUT, 'camera-snapshot.png'), fullPage: true });

  // Live: a few frames, never two requests at once, status updated in place.
  await page.click('#camera-live');
  assert.equal(await page.getAttribute('#camera-live', 'aria-pressed'), 'true');
  await page.waitForFunction(() => /^Live: /.test(document.getElementById('camera-status')?.textContent ?? ''), null, { timeout: 60_000 });
  const until = Date.now() + 60_000;
  while (answered < 3 && Date.now() < until) await page.waitForTimeout(200);
  assert.ok(answered >= 3, `only ${answered} live frames were answered`);
  assert.equal(maxInFlight, 1, 'one request in flight at a time');
  await page.screenshot({ path: path.join(OUT, 'camera-live.png'), fullPage: true });

  // Pause, then stop: the camera is released and its buttons disabled.
  await page.click('#camera-live');
  assert.equal(await page.getAttribute('#camera-live', 'aria-pressed'), 'false');
  await page.click('#camera-stop');
  assert.equal(await page.evaluate(() => (document.getElementById('camera-video') as HTMLVideoElement).srcObject), null);
  assert.equal(await page.isDisabled('#camera-snap'), true);
  assert.equal(await page.isDisabled('#camera-start'), false);

  // Back to the Photo tab.
  await page.click('#tab-photo');
  assert.equal(await page.isVisible('#dropzone'), true);
  assert.deepEqual(errors, [], 'no JavaScript errors');
  await page.close();
});

test('Camera denied or absent: a clear message, no error', { skip, timeout: 60_000 }, async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'denied',
      `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`,
      /Camera access was denied/,
    ],
    [
      'no device',
      `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));`,
      /No camera was found/,
    ],
    [
      'no API (plain http on a LAN address)',
      `Object.defineProperty(navigator, 'mediaDevices', { value: undefined });`,
      /no camera access here/,
    ],
  ];
  for (const [name, script, message] of cases) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(script);
    await openCameraTab(page);
    await page.click('#camera-start');
    await page.waitForFunction(() => document.getElementById('camera-status')?.classList.contains('camera-error'), null, {
      timeout: 10_000,
    });
    assert.match((await page.textContent('#camera-status')) ?? '', message, name);
    assert.equal(await page.isDisabled('#camera-start'), false, `${name}: can try again`);
    assert.deepEqual(errors, [], `${name}: no JavaScript errors`);
    await page.close();
  }
});

test('Live with faces in view: numbered boxes drawn, bars updated in place', { skip: skip || demoSkip, timeout: 180_000 }, async () => {
  // The fake camera plays a file instead: a demo group photo as a one-frame MJPEG.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-cam-'));
  const video = path.join(dir, 'faces.mjpeg');
  fs.writeFileSync(video, await resizedJpeg(demoPhoto('sample5'), 640, 480));
  const faceBrowser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`,
  ]);
  try {
    const page = await faceBrowser.newPage({ viewport: { width: 900, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let answered = 0;
    page.on('requestfinished', (r) => {
      if (r.url().endsWith('/api/predict')) answered++;
    });
    await openCameraTab(page);
    await page.click('#camera-start');
    await page.waitForFunction(() => (document.getElementById('camera-video') as HTMLVideoElement).videoWidth > 0, null, {
      timeout: 20_000,
    });
    await page.click('#camera-live');
    await page.waitForFunction(() => document.querySelectorAll('#live-faces > li').length >= 3, null, { timeout: 60_000 });
    // Mark the first entry, let more frames arrive: the same element is updated, not replaced.
    await page.evaluate(() => {
      (document.querySelector('#live-faces > li') as HTMLElement).dataset.mark = 'first';
    });
    const seen = answered;
    const until = Date.now() + 60_000;
    while (answered < seen + 2 && Date.now() < until) await page.waitForTimeout(200);
    assert.ok(answered >= seen + 2, 'more live frames arrived');
    assert.equal(await page.getAttribute('#live-faces > li', 'data-mark'), 'first', 'bars updated in place');
    const entries = await page.$$eval('#live-faces > li', (lis) =>
      lis.map((li) => ({
        number: li.querySelector('.face-number')?.textContent,
        meters: li.querySelectorAll('meter').length,
      })),
    );
    assert.equal(entries.length, 5, 'the five faces of the photo');
    entries.forEach((e, i) => {
      assert.equal(e.number, String(i + 1));
      assert.equal(e.meters, 7);
    });
    assert.match((await page.textContent('#camera-status')) ?? '', /^Live: 5 faces/);
    // Something was drawn on the overlay canvas.
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('camera-overlay') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(drawn > 1000, `boxes drawn on the video (${drawn} pixels)`);
    await page.screenshot({ path: path.join(OUT, 'camera-live-faces.png'), fullPage: true });
    await page.click('#camera-stop');
    assert.deepEqual(errors, [], 'no JavaScript errors');
  } finally {
    await faceBrowser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
