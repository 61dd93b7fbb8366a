/**
 * Private mode in a real browser: Chromium runs TF.js (wasm backend, served
 * from the installed packages) with the shipped models' own files. The
 * browser's scores for the same faces equal the server's within 1e-3, every
 * model running compiled there too (the server's compiler, served to it); the
 * live camera (Chromium's fake camera showing a photo with faces) analyses
 * frames on the device with the badge saying so and no frame uploaded, and
 * goes back to the server when private mode is switched off.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../../src/inference/decode.js';
import { cropFaces, findFaces } from '../../src/inference/faces.js';
import { predictFaces } from '../../src/inference/predict.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { launchChromium, noChromium, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { photoY4m } from '../helpers/fake-camera.js';
import { demoPhoto, demoSkip, resizedJpeg } from '../helpers/face-photos.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const skip = noChromium || demoSkip;
const PHOTOS = ['sample1', 'sample2', 'sample3', 'sample4', 'sample5', 'sample6'];
let server: TestServer;
let browser: Browser;
let camera: string;

before(async () => {
  if (skip) return;
  server = await startTestServer(path.join(PROJECT_ROOT, 'models'), { privateMode: true, rateLimitPerMinute: 0 });
  camera = await photoY4m(demoPhoto('sample3'), 640, 480);
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${camera}`,
  ]);
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (camera) fs.rmSync(path.dirname(camera), { recursive: true, force: true });
});

interface Runtime {
  backend: string;
  models: string[];
}

async function loadRuntime(page: Page): Promise<Runtime> {
  await page.goto(server.url + '/');
  return page.evaluate(async () => {
    const m = (await import('/static/private/runtime.js' as string)) as { loadPrivate(base: string): Promise<Runtime> };
    const rt = await m.loadPrivate('');
    return { backend: rt.backend, models: rt.models };
  });
}

describe('private mode in the browser', { skip }, () => {
  test('the browser scores the same faces as the server within 1e-3, with every shipped model', { timeout: 600_000 }, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const rt = await loadRuntime(page);
    assert.equal(rt.backend, 'wasm');
    assert.deepEqual([...rt.models].sort(), server.registry.models.map((m) => m.id).sort());

    // The faces of the six demo photos, cut out by the server.
    const parts: Uint8Array[] = [];
    for (const id of PHOTOS) {
      const image = await decodeImage(await resizedJpeg(demoPhoto(id), 640, 480), { maxPixels: DEFAULT_MAX_PIXELS });
      parts.push(await cropFaces(image, await findFaces(image)));
    }
    const faces = Buffer.concat(parts);
    const n = faces.length / 2304;
    assert.ok(n >= 20, `${n} faces`);
    for (const m of server.registry.models) {
      const browserRows = await page.evaluate(
        async ({ id, data }) => {
          const mod = (await import('/static/private/runtime.js' as string)) as {
            loadPrivate(): Promise<{ scoreFaces(id: string, f: number[]): Promise<number[][]> }>;
          };
          return (await mod.loadPrivate()).scoreFaces(id, data);
        },
        { id: m.id, data: Array.from(faces) },
      );
      const serverRows = predictFaces(m, faces);
      assert.equal(browserRows.length, n);
      let worst = 0;
      serverRows.forEach((row, i) =>
        row.forEach((p, k) => {
          worst = Math.max(worst, Math.abs(p - browserRows[i][k]));
        }),
      );
      console.log(`# ${m.id}: ${n} faces, largest browser-server difference ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-3, `${m.id}: scores differ by ${worst}`);
    }
    // Every shipped network runs compiled in the browser too (the server's compiler, inside the bundle /private/pipeline.js).
    const networks = server.registry.models.filter((m) => m.kind === 'network').map((m) => m.id);
    for (const id of networks) {
      const compiled = await page.evaluate(async (modelId) => {
        const mod = (await import('/static/private/runtime.js' as string)) as {
          loadPrivate(): Promise<{ compiledModels(id: string): Promise<string[]> }>;
        };
        return (await mod.loadPrivate()).compiledModels(modelId);
      }, id);
      assert.deepEqual(compiled, [id], `${id} runs compiled in the browser`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('the live camera runs on the device: badge, no frame upload; off = the server again', { timeout: 600_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const uploads: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET' || r.url().includes('/api/predict')) uploads.push(`${r.method()} ${r.url()}`);
    });

    await page.goto(server.url + '/');
    await page.waitForSelector('#input-tabs:not([hidden])');
    await page.click('#tab-camera');
    await page.click('#camera-start');
    // Loaded (or failed): the badge is set once loading is over.
    await page.waitForFunction(
      () =>
        document.getElementById('camera-panel')?.hasAttribute('data-where') &&
        !/Loading/.test(document.getElementById('camera-where')?.textContent ?? ''),
      null,
      { timeout: 300_000 },
    );
    assert.equal(await page.getAttribute('#camera-panel', 'data-where'), 'device', (await page.textContent('#camera-where')) ?? '');
    assert.match((await page.textContent('#camera-where')) ?? '', /On this device/);
    assert.equal(await page.isChecked('#camera-private'), true);

    await page.click('#camera-live');
    // Several frames with the photo's faces, analysed here.
    const msSeen = new Set<string>();
    const until = Date.now() + 120_000;
    while (msSeen.size < 5 && Date.now() < until) {
      await page.waitForFunction(
        () =>
          /face/.test(document.getElementById('camera-status')?.textContent ?? '') &&
          document.querySelectorAll('#live-faces .live-face').length > 0,
        null,
        { timeout: 120_000 },
      );
      const ms = await page.getAttribute('#camera-panel', 'data-ms');
      if (ms) msSeen.add(ms);
      await page.waitForTimeout(300);
    }
    assert.ok(msSeen.size >= 3, `only ${msSeen.size} frames analysed`);
    const faces = await page.locator('#live-faces .live-face').count();
    assert.ok(faces >= 2, `${faces} faces in the live list`);
    assert.deepEqual(uploads, [], 'nothing may be uploaded in private mode');
    console.log(`# live, on the device: ${[...msSeen].join(', ')} ms a frame (480x360, ${faces} faces)`);
    // A picture for people, not a check: on a loaded machine the page may be too busy to draw in time.
    await page
      .screenshot({ path: path.join(OUT, 'private-live.png'), fullPage: true, timeout: 120_000 })
      .catch((e: Error) => console.log(`# no screenshot: ${e.message.split('\n')[0]}`));

    // Private mode off: the next frames go to the server.
    const upload = page.waitForRequest((r) => r.url().includes('/api/predict'), { timeout: 120_000 });
    await page.uncheck('#camera-private');
    assert.equal(await page.getAttribute('#camera-panel', 'data-where'), 'server');
    await upload;
    assert.match((await page.textContent('#camera-where')) ?? '', /On the server/);
    await page.click('#camera-stop');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
