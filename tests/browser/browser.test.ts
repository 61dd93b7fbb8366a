/**
 * The demo page in a real browser (Debian's chromium through playwright-core):
 * upload a photo, see seven labelled bars, click an example, keep a screenshot
 * in test-output/. Skipped, with a message, where chromium is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { LABELS } from '../../src/types.js';
import { launchChromium, noChromium as skip, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let models: TestModels;
let server: TestServer;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip) return;
  models = await makeTestModels();
  server = await startTestServer(models.dir);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 900, height: 1200 } });
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await models?.cleanup();
});

/** The seven bars of the first face, as the user reads them. */
async function bars(p: Page): Promise<Array<{ label: string; value: number; text: string }>> {
  return p.$$eval('#result .face:first-of-type li.bar', (items) =>
    items.map((li) => ({
      label: li.querySelector('label')?.textContent?.trim() ?? '',
      value: Number(li.querySelector('meter')?.getAttribute('value')),
      text: li.querySelector('.bar-value')?.textContent?.trim() ?? '',
    })),
  );
}

test('upload a photo, see seven labelled bars, then click an example', { skip, timeout: 120_000 }, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(server.url + '/');
  assert.equal(await page.title(), 'Facial expression demo · ekspresi');
  await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });

  // Upload: choose a file, the preview shows it, Submit swaps in the result.
  const photo = path.join(OUT, 'upload-face.png');
  fs.writeFileSync(photo, await facePng(160));
  await page.setInputFiles('#image', photo);
  await page.waitForSelector('#preview:not([hidden])');
  await page.check('#opt-whole'); // a drawn face: classify the whole image (detection: faces.test.ts, camera.test.ts)
  await page.click('#submit');
  await page.waitForSelector('#result .result-card');
  const first = await bars(page);
  assert.equal(first.length, 7);
  assert.deepEqual([...first.map((b) => b.label)].sort(), [...LABELS].sort());
  for (let i = 1; i < first.length; i++) assert.ok(first[i - 1].value >= first[i].value, 'sorted, most likely first');
  for (const b of first) assert.match(b.text, /^\d+(\.\d)?%$/);
  const top = await page.textContent('#result .top-label');
  assert.ok(top?.includes(first[0].label));
  // Still the same page (htmx swapped a partial, no navigation).
  assert.equal(new URL(page.url()).pathname, '/');
  await page.screenshot({ path: path.join(OUT, 'demo-upload.png'), fullPage: true });

  // Examples: one click analyses an installed demo photo.
  const examples = await page.$$('button.example');
  if (examples.length === 0) {
    assert.fail('no example photos: is @vladmandic/face-api installed (npm install)?');
  }
  await page.evaluate(() => {
    document.querySelector('#result')!.innerHTML = '';
  });
  await page.uncheck('#opt-whole'); // a group photo: find the faces
  await examples[0].click();
  await page.waitForSelector('#result .result-card');
  assert.equal((await bars(page)).length, 7);
  await page.screenshot({ path: path.join(OUT, 'demo-example.png'), fullPage: true });

  // Clear empties the preview and the result.
  await page.click('#clear');
  assert.equal(await page.$('#result .result-card'), null);
  assert.equal(await page.getAttribute('#preview', 'hidden'), '');

  // An error is shown in the page, in words.
  await page.click('#submit');
  await page.waitForSelector('#result .error-card');
  assert.match((await page.textContent('#result .error-card')) ?? '', /No photo was chosen/);

  // On a phone, in dark mode: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(server.url + '/');
  await page.setInputFiles('#image', photo);
  await page.check('#opt-whole');
  await page.click('#submit');
  await page.waitForSelector('#result .result-card');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);
  await page.screenshot({ path: path.join(OUT, 'demo-phone-dark.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no JavaScript errors');
});
