/**
 * Every page on a phone (390x844) in both languages, in a real browser
 * (Debian's chromium through playwright-core) with the shipped models and
 * their comparison: nothing may be wider than the screen, so no page
 * scrolls sideways. Screenshots go to test-output/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { launchChromium, noChromium as skip, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

const PHONE = { width: 390, height: 844 };
const MODELS = path.join(PROJECT_ROOT, 'models');

let server: SharingServer;
let browser: Browser;

before(async () => {
  if (skip) return;
  server = await startSharingServer(MODELS);
  browser = await launchChromium();
  fs.mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** How far the page scrolls sideways, and the widest elements that stick out (for the message). */
async function overflow(page: Page): Promise<{ extra: number; culprits: string[] }> {
  return page.evaluate((width) => {
    const extra = document.scrollingElement!.scrollWidth - width;
    const culprits: string[] = [];
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const r = el.getBoundingClientRect();
      if (r.right <= width + 0.5 || r.width === 0) continue;
      // Only the outermost element that sticks out, and none inside a box that scrolls or clips it.
      let hidden = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const o = getComputedStyle(a).overflowX;
        if (o !== 'visible' && a.getBoundingClientRect().right <= width + 0.5) {
          hidden = true;
          break;
        }
      }
      if (!hidden && el.parentElement!.getBoundingClientRect().right <= width + 0.5) {
        const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '';
        culprits.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} (right ${Math.round(r.right)})`);
      }
    }
    return { extra, culprits: culprits.slice(0, 8) };
  }, PHONE.width);
}

async function check(page: Page, what: string, shot: string): Promise<void> {
  await page.screenshot({ path: path.join(OUT, `phone-${shot}.png`), fullPage: true });
  const { extra, culprits } = await overflow(page);
  assert.ok(extra <= 0, `${what}: the page scrolls ${extra}px sideways at ${PHONE.width}px; too wide: ${culprits.join(', ')}`);
}

for (const lang of ['en', 'id'] as const) {
  test(`no page scrolls sideways on a 390x844 phone (${lang})`, { skip, timeout: 240_000 }, async () => {
    const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const q = `?lang=${lang}`;
      await page.goto(`${server.url}/${q}`);
      await page.waitForFunction(() => 'htmx' in window);
      await check(page, '/', `${lang}-index`);
      // The model picker stays inside the column; each option's name stays on one line, its hint flowing after it.
      const tidy = await page.evaluate(() => {
        const main = document.querySelector('main')!;
        const right = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight);
        return {
          selectsOut: Array.from(document.querySelectorAll('main select'))
            .filter((s) => s.getBoundingClientRect().right > right + 0.5)
            .map((s) => s.id),
          wrapped: Array.from(document.querySelectorAll('.option-name'))
            .filter((s) => s.getClientRects().length !== 1)
            .map((s) => s.textContent),
        };
      });
      assert.deepEqual(tidy.selectsOut, [], 'selects wider than the column');
      assert.deepEqual(tidy.wrapped, [], 'option names broken over lines');

      // A result: an example photo with several faces, one model.
      await page.click('button.example');
      await page.waitForSelector('#result .result-card');
      await check(page, 'a result', `${lang}-result`);

      // Every model side by side.
      await page.check('#all');
      await page.click('button.example');
      await page.waitForSelector('#result .model-columns');
      await check(page, 'side by side', `${lang}-side-by-side`);
      await page.uncheck('#all');

      // The Share panel over the page.
      await page.click('.share-button');
      await page.waitForSelector('#share-card');
      await check(page, 'the Share panel', `${lang}-share`);

      for (const [where, shot] of [
        ['/compare', 'compare'],
        ['/api', 'api'],
        ['/flagged', 'flagged'],
        ['/share', 'share-page'],
        ['/video', 'video'],
      ] as const) {
        await page.goto(`${server.url}${where}${q}`);
        await page.waitForLoadState('load');
        if (where === '/compare') await page.waitForSelector('.chart[data-drawn]');
        await check(page, where, `${lang}-${shot}`);
      }
      assert.deepEqual(errors, [], 'no JavaScript errors');
    } finally {
      await context.close();
    }
  });
}

test('the learning-rate labels on the training curves neither overlap nor leave the plot', { skip, timeout: 120_000 }, async () => {
  for (const viewport of [PHONE, { width: 1280, height: 800 }]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    try {
      await page.goto(`${server.url}/compare`);
      await page.waitForSelector('figure.curves .chart[data-labels]');
      const charts = await page.$$eval('figure.curves .chart[data-labels]', (els) =>
        els.map(
          (el) =>
            JSON.parse(el.getAttribute('data-labels')!) as Array<{
              text: string;
              left: number;
              right: number;
              row: number;
              plotLeft: number;
              plotRight: number;
            }>,
        ),
      );
      assert.ok(charts.length >= 2, 'the shipped models have training curves');
      assert.ok(
        charts.some((labels) => labels.length > 0),
        'some change is labelled',
      );
      for (const labels of charts) {
        for (const l of labels)
          assert.ok(l.left >= l.plotLeft - 0.5 && l.right <= l.plotRight + 0.5, `${l.text} leaves the plot at ${viewport.width}px`);
        for (let i = 0; i < labels.length; i++) {
          for (let j = i + 1; j < labels.length; j++) {
            const [a, b] = [labels[i], labels[j]];
            assert.ok(a.row !== b.row || a.right <= b.left || b.right <= a.left, `"${a.text}" overlaps "${b.text}" at ${viewport.width}px`);
          }
        }
      }
      await page.screenshot({ path: path.join(OUT, `compare-curves-${viewport.width}.png`), fullPage: true });
    } finally {
      await context.close();
    }
  }
});
