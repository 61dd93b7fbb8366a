/**
 * Bench section `video`: the video timeline in Debian's Chromium (headless,
 * playwright-core), against `npm start` as a child process on a loopback
 * port. Private mode's runtime (TF.js wasm, BlazeFace, the default model) is
 * loaded by the page, then the committed test video
 * (tests/fixtures/faces-4s.mp4, 640x360, three faces then one) is analysed
 * at 5 frames a second; the page's own figure is read back (data-*
 * attributes of #video-timeline).
 *   --set video_fps=N    frames a second to sample (default 5)
 *   --set video_model=ID the model to run (default: the server's default)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_ARGS, CHROMIUM } from '../chromium.js';
import { startChildServer } from '../child-server.js';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../framework.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VIDEO = path.join(ROOT, 'tests', 'fixtures', 'faces-4s.mp4');
const section: BenchSection = {
  name: 'video',
  title: 'Video timeline in the browser (private mode: TF.js wasm in headless Chromium)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const missing = !fs.existsSync(CHROMIUM)
      ? `no chromium at ${CHROMIUM}`
      : !fs.existsSync(VIDEO)
        ? `no ${path.relative(ROOT, VIDEO)}`
        : null;
    if (missing) {
      return { figures: [{ id: 'video_ms_per_frame', label: 'video timeline: time a frame', value: null, unit: 'ms', note: missing }] };
    }
    const fps = Number(ctx.options.video_fps ?? 5);
    const r1 = (v: number) => Math.round(v * 10) / 10;
    // Imported here: a dev dependency, needed by this section only.
    const { chromium } = await import('playwright-core');
    ctx.log('[bench] video: starting src/cli/serve.ts');
    const server = await startChildServer({
      args: ['--models', path.join(ROOT, 'models'), '--quiet', '--no-flagging', '--rate-limit', '0'],
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
      const state = (name: string) => page.getAttribute('#video-timeline', name);
      const t0 = performance.now();
      await page.goto(`${server.url}/video`);
      await page.waitForFunction(() => document.getElementById('video-timeline')?.getAttribute('data-runtime') !== 'loading', null, {
        timeout: 600_000,
      });
      const loadMs = performance.now() - t0;
      if ((await state('data-runtime')) !== 'ready')
        throw new Error(`private mode did not load: ${await page.textContent('#video-status')}`);
      if (ctx.options.video_model) await page.selectOption('#video-model', ctx.options.video_model);
      const model = await page.inputValue('#video-model');
      await page.fill('#video-fps', String(fps));
      await page.setInputFiles('#video-file', VIDEO);
      await page.waitForSelector('#video-start:not([disabled])', { timeout: 60_000 });
      ctx.log(`[bench] video: analysing ${path.basename(VIDEO)} at ${fps}/s with ${model}`);
      const t1 = performance.now();
      await page.click('#video-start');
      await page.waitForFunction(() => document.getElementById('video-timeline')?.getAttribute('data-state') !== 'running', null, {
        timeout: 1_800_000,
      });
      const wallMs = performance.now() - t1;
      if ((await state('data-state')) !== 'done')
        throw new Error(`the analysis did not finish: ${await page.textContent('#video-status')}`);
      const frames = Number(await state('data-samples'));
      const msFrame = Number(await state('data-ms-per-frame'));
      const figures: Figure[] = [
        {
          id: 'private_load_ms',
          label: 'page open to private mode ready (TF.js, wasm, BlazeFace, model)',
          value: r1(loadMs),
          unit: 'ms',
          note: 'cold browser cache, loopback',
        },
        {
          id: 'video_ms_per_frame',
          label: `video timeline: time a frame (${model}, 640x360)`,
          value: r1(msFrame),
          unit: 'ms',
          note: 'seek + copy + detection + crops + model, mean',
        },
        { id: 'video_frames', label: `frames sampled (4 s at ${fps}/s)`, value: frames, unit: 'frames' },
        {
          id: 'video_wall_s',
          label: 'the whole video, start to done',
          value: r1(wallMs / 1000),
          unit: 's',
          note: 'with the chart and progress drawn',
        },
      ];
      return {
        figures,
        notes: ['headless Chromium (software rendering, no GPU); one frame at a time on the wasm backend without threads'],
      };
    } finally {
      await browser.close();
      await server.stop('SIGTERM');
    }
  },
};

export default section;
