/**
 * Bench section `security`: what one client can cost the server, measured on
 * `npm start` itself (src/cli/serve.ts as a child process, loopback, its own
 * RSS read from /proc), and what each image format costs to decode:
 *  - the server's RSS before, at its peak and after a 300 MB POST /flag
 *    (chunked: counted while it streams), and three 250 MB ones at once;
 *  - a normal POST /api/predict alone, and beside five clients trickling a
 *    declared 1 MB upload at a byte every 200 ms (median of `iterations`);
 *  - each format (JPEG, PNG, WebP, GIF, TIFF, AVIF) at 12, 16 and 49 MP:
 *    decode time and peak RSS in a fresh process (decode-child.ts), with no
 *    pixel limit, so the figures say why AVIF/HEIF and GIF get a lower one.
 *
 * Options (--set key=value): iterations (5, --quick 3), models (models/),
 * sizes (megapixels, comma-separated; default 12,16,49, --quick 12).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { disposeRegistry } from '../../inference/registry.js';
import { benchImages } from '../bench-images.js';
import { benchModels } from '../bench-models.js';
import { startChildServer } from '../child-server.js';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../framework.js';
import { rssOfPid } from '../process-stats.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DECODE_CHILD = path.join(HERE, '..', 'decode-child.ts');
const FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
const MB = 1024 * 1024;

/** Streams `bytes` of zeros (chunked) until the server answers or hangs up. */
function blast(url: string, bytes: number): Promise<number | null> {
  return new Promise((resolve) => {
    const piece = Buffer.alloc(64 * 1024);
    let sent = 0;
    let status: number | null = null;
    let done = false;
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'same-origin', 'Transfer-Encoding': 'chunked' },
    });
    const stop = () => {
      if (!done) {
        done = true;
        req.destroy();
        resolve(status);
      }
    };
    req.on('response', (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on('end', stop);
    });
    req.on('error', stop);
    req.on('close', stop);
    const pump = () => {
      while (!done && sent < bytes) {
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!done) req.end();
    };
    pump();
  });
}

/** RSS of `pid` before, at its peak during `fn`, and 2 s after. */
async function rssAround(pid: number, fn: () => Promise<unknown>): Promise<{ before: number; peak: number; after: number }> {
  const before = rssOfPid(pid) ?? 0;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOfPid(pid) ?? 0);
  }, 25);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  await new Promise((r) => setTimeout(r, 2000));
  return { before, peak, after: rssOfPid(pid) ?? 0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function predictMs(url: string, photo: Uint8Array<ArrayBuffer>, n: number): Promise<{ ms: number; statuses: number[] }> {
  const times: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/predict`, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' } });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    statuses.push(res.status);
  }
  return { ms: median(times), statuses };
}

/** Five sockets trickling a declared 1 MB upload, a byte every 200 ms. */
function trickle(url: string, count: number): () => void {
  const { port } = new URL(url);
  const sockets = Array.from({ length: count }, () => {
    const s = net.connect(Number(port), '127.0.0.1');
    s.on('error', () => {});
    s.write('POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n');
    const timer = setInterval(() => {
      if (!s.destroyed) s.write('x');
    }, 200);
    s.on('close', () => clearInterval(timer));
    return s;
  });
  return () => {
    for (const s of sockets) s.destroy();
  };
}

async function serverFigures(ctx: BenchContext, iterations: number, figures: Figure[], notes: string[]): Promise<void> {
  const models = await benchModels(ctx.options.models ?? 'models', () => {});
  disposeRegistry(models.registry);
  if (models.standIn) notes.push('no model in models/: an untrained custom CNN stood in');
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ekspresi-bench-data-'));
  const photo = new Uint8Array((await benchImages()).photo);
  const child = await startChildServer({ args: ['--models', models.dir, '--quiet', '--rate-limit', '0', '--data-dir', dataDir] });
  try {
    const pid = child.child.pid!;
    await predictMs(child.url, photo, 2); // warm: the detector and the model load on first use
    ctx.log('[bench] security: 300 MB to /flag');
    let status: number | null = null;
    const one = await rssAround(pid, async () => {
      status = await blast(`${child.url}/flag`, 300 * MB);
    });
    figures.push(
      { id: 'flag_300mb_rss_before_mb', label: 'RSS before a 300 MB POST /flag', value: one.before, unit: 'MB' },
      {
        id: 'flag_300mb_rss_peak_mb',
        label: 'RSS peak during it',
        value: one.peak,
        unit: 'MB',
        note: `answer: ${status ?? 'connection closed'}`,
      },
      { id: 'flag_300mb_rss_after_mb', label: 'RSS 2 s after it', value: one.after, unit: 'MB' },
    );
    ctx.log('[bench] security: 3 x 250 MB to /flag at once');
    const three = await rssAround(pid, () => Promise.all([0, 1, 2].map(() => blast(`${child.url}/flag`, 250 * MB))));
    figures.push({ id: 'flag_3x250mb_rss_peak_mb', label: 'RSS peak during 3 x 250 MB POST /flag at once', value: three.peak, unit: 'MB' });

    ctx.log('[bench] security: a prediction beside slow uploads');
    const alone = await predictMs(child.url, photo, iterations);
    const stop = trickle(child.url, 5);
    await new Promise((r) => setTimeout(r, 500));
    let beside: { ms: number; statuses: number[] };
    try {
      beside = await predictMs(child.url, photo, iterations);
    } finally {
      stop();
    }
    figures.push(
      { id: 'predict_alone_ms', label: 'POST /api/predict (640x480, one face), alone, median', value: Math.round(alone.ms), unit: 'ms' },
      {
        id: 'predict_beside_5_slow_ms',
        label: 'the same beside 5 clients trickling uploads, median',
        value: Math.round(beside.ms),
        unit: 'ms',
        note: `statuses ${beside.statuses.join(',')}`,
      },
    );
  } finally {
    await child.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
    await models.cleanup();
  }
}

async function decodeFigures(ctx: BenchContext, sizes: number[], figures: Figure[]): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ekspresi-bench-decode-'));
  try {
    for (const mp of sizes) {
      const side = Math.round(Math.sqrt(mp * 1e6));
      for (const format of FORMATS) {
        ctx.log(`[bench] security: decode ${format} ${side}x${side}`);
        // A flat picture: it encodes in moments, and the decoders' cost is in the pixel count, not the content.
        const img = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 120, g: 90, b: 60 } } }).resize(side, side);
        const encoded =
          format === 'avif' ? img.avif({ effort: 0 }) : format === 'tiff' ? img.tiff({ compression: 'deflate' }) : img.toFormat(format);
        const file = path.join(dir, `${mp}mp.${format}`);
        await fsp.writeFile(file, await encoded.toBuffer());
        const { stdout } = await run(process.execPath, ['--import', 'tsx', DECODE_CHILD, file], { maxBuffer: MB });
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number; peak_rss_mb: number; base_rss_mb: number };
        const kb = Math.round(fs.statSync(file).size / 1024);
        figures.push(
          {
            id: `decode_${format}_${mp}mp_ms`,
            label: `decode ${format.toUpperCase()} ${mp} MP (${kb} KB)`,
            value: Math.round(r.ms),
            unit: 'ms',
          },
          {
            id: `decode_${format}_${mp}mp_rss_mb`,
            label: `  its peak RSS above the process's start`,
            value: Math.round(r.peak_rss_mb - r.base_rss_mb),
            unit: 'MB',
          },
        );
        await fsp.rm(file);
      }
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const section: BenchSection = {
  name: 'security',
  title: 'What one client can cost the server: huge bodies, slow uploads, costly image formats',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const figures: Figure[] = [];
    const notes: string[] = [];
    const iterations = Number(ctx.options.iterations ?? (ctx.quick ? 3 : 5));
    const sizes = (ctx.options.sizes ?? (ctx.quick ? '12' : '12,16,49'))
      .split(',')
      .map(Number)
      .filter((n) => n > 0);
    if (ctx.options.skip_server !== '1') await serverFigures(ctx, iterations, figures, notes);
    if (ctx.options.skip_decode !== '1') await decodeFigures(ctx, sizes, figures);
    return { figures, notes };
  },
};

export default section;
