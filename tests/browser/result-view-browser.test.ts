/**
 * The result view and the ways a photo gets in, in a real browser (Debian's
 * chromium through playwright-core): the annotated photo scrolls into view,
 * small photos stay small with readable number tags, a photo pasted from the
 * clipboard is analysed, and a file that is not a photo is refused before it
 * is sent (the server refuses it too).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MIN_SHOWN } from '../../src/server/present/face-overlay.js';
import { translator } from '../../src/server/i18n/index.js';
import { launchChromium, noChromium as skip, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const en = translator('en');
const id = translator('id');
let models: TestModels;
let server: TestServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  models = await makeTestModels();
  server = await startTestServer(models.dir);
  browser = await launchChromium();
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await models?.cleanup();
});

async function open(
  viewport: { width: number; height: number },
  query = '',
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + '/' + query);
  await page.waitForFunction(() => 'htmx' in window);
  return { context, page, errors };
}

/** Shown size of the photo, and of every number tag and box line on it (CSS px). */
async function overlaySizes(page: Page) {
  return page.evaluate(() => {
    const photo = document.querySelector('#result img.photo')!.getBoundingClientRect();
    const tags = Array.from(document.querySelectorAll('#result .face-tag')).map((t) => t.getBoundingClientRect().height);
    const lines = Array.from(document.querySelectorAll('#result .face-box')).map((b) =>
      getComputedStyle(b).vectorEffect === 'non-scaling-stroke' ? parseFloat(getComputedStyle(b).strokeWidth) : NaN,
    );
    return {
      width: photo.width,
      height: photo.height,
      tags,
      lines,
      column: document.querySelector('#result')!.getBoundingClientRect().width,
    };
  });
}

test('after a result the annotated photo is in view, its top at the top of the screen', { skip, timeout: 120_000 }, async () => {
  const { context, page, errors } = await open({ width: 390, height: 844 });
  try {
    await page.click('button.example');
    await page.waitForSelector('#result .photo-frame');
    // Scrolling is smooth: wait until it settles with the photo's top near the top of the screen.
    await page.waitForFunction(
      () => {
        const top = document.querySelector('#result .photo-frame')!.getBoundingClientRect().top;
        return top >= -1 && top < 40;
      },
      null,
      { timeout: 10_000 },
    );
    assert.ok(await page.evaluate(() => window.scrollY > 0), 'the page did scroll');
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('top-label')), true, 'focus is on the first face');
    const sizes = await overlaySizes(page);
    assert.ok(sizes.tags.length > 0);
    for (const h of sizes.tags) assert.equal(Math.round(h), 22, 'number tags are 22 px on a phone');
    for (const w of sizes.lines) assert.equal(w, 3, 'box lines are 3 px on a phone');
    await page.screenshot({ path: path.join(OUT, 'result-photo-in-view.png') });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a 48x48 face and a 1x1 image are not stretched to the column; tags stay readable', { skip, timeout: 120_000 }, async () => {
  const { context, page, errors } = await open({ width: 1280, height: 900 });
  const dir = fs.mkdtempSync(path.join(OUT, 'small-'));
  try {
    const small = path.join(dir, 'face48.png');
    fs.writeFileSync(small, await facePng(48));
    const dot = path.join(dir, 'dot.png');
    fs.writeFileSync(
      dot,
      await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    );
    for (const [file, natural] of [
      [small, 48],
      [dot, 1],
    ] as const) {
      await page.evaluate(() => {
        document.querySelector('#result')!.innerHTML = '';
      });
      await page.setInputFiles('#image', file);
      await page.check('#opt-whole');
      await page.click('#submit');
      await page.waitForSelector('#result img.photo');
      const sizes = await overlaySizes(page);
      assert.ok(sizes.column > 600, 'a wide column');
      assert.equal(Math.round(sizes.width), Math.max(natural, MIN_SHOWN), `${natural} px photo shown at ${sizes.width} px`);
      assert.equal(sizes.tags.length, 1);
      assert.equal(Math.round(sizes.tags[0]), 22);
      assert.equal(sizes.lines[0], 3);
    }
    await page.screenshot({ path: path.join(OUT, 'result-small-photo.png') });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a photo pasted from the clipboard (Ctrl+V) is analysed', { skip, timeout: 120_000 }, async () => {
  const { context, page, errors } = await open({ width: 900, height: 1000 });
  try {
    assert.equal(await page.isVisible('#paste-hint'), true, 'the page says pasting works');
    const png = (await facePng(96)).toString('base64');
    // What the browser hands the page on Ctrl+V with a copied picture: a paste event whose clipboardData holds a File.
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, png);
    assert.equal(await page.evaluate(() => (document.querySelector('#image') as HTMLInputElement).files?.[0]?.name), 'pasted.png');
    await page.waitForSelector('#preview:not([hidden])');
    await page.check('#opt-whole');
    await page.click('#submit');
    await page.waitForSelector('#result .result-card');
    assert.equal(await page.$$eval('#result .face li.bar', (li) => li.length), 7);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a file that is not a photo is refused in the page, before any upload, and by the server', { skip, timeout: 120_000 }, async () => {
  const { context, page, errors } = await open({ width: 900, height: 1000 });
  const dir = fs.mkdtempSync(path.join(OUT, 'not-photo-'));
  try {
    let posts = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST') posts++;
    });
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'not a photo');
    await page.setInputFiles('#image', notes);
    await page.waitForSelector('#result .error-card');
    assert.equal(await page.textContent('#result .error-message'), en('err.notPhotoFile', { name: 'notes.txt' }));
    assert.equal(
      await page.evaluate(() => (document.querySelector('#image') as HTMLInputElement).files?.length),
      0,
      'the input is emptied',
    );
    // Pasted, too.
    await page.evaluate(() => {
      document.querySelector('#result')!.innerHTML = '';
    });
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['%PDF-1.4'], 'report.pdf', { type: 'application/pdf' }));
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('#result .error-card');
    assert.equal(await page.textContent('#result .error-message'), en('err.notPhotoFile', { name: 'report.pdf' }));
    assert.equal(posts, 0, 'nothing was uploaded');
    // The server does not rely on the page: the same file posted directly is refused with a message.
    const form = new FormData();
    form.append('image', new Blob(['not a photo'], { type: 'text/plain' }), 'notes.txt');
    const res = await fetch(`${server.url}/api/predict`, { method: 'POST', body: form });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: string }).error, /not an image/i);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "the page's scripts speak its language: the refusal in Indonesian, the file's name put in as it is",
  { skip, timeout: 120_000 },
  async () => {
    const { context, page, errors } = await open({ width: 900, height: 1000 }, '?lang=id');
    const dir = fs.mkdtempSync(path.join(OUT, 'not-photo-id-'));
    try {
      // "$&" in a replacement string would put the placeholder back in; the name must come through unchanged.
      const name = 'catatan $& $1.txt';
      fs.writeFileSync(path.join(dir, name), 'bukan foto');
      await page.setInputFiles('#image', path.join(dir, name));
      await page.waitForSelector('#result .error-card');
      const shown = await page.textContent('#result .error-message');
      assert.equal(shown, id('err.notPhotoFile', { name }));
      assert.notEqual(shown, en('err.notPhotoFile', { name }), 'Indonesian, not the English fallback');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
