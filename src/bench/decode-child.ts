/**
 * One decode in a fresh process, for the `security` bench section: the
 * server's decode pipeline (decode.ts: rotate, shrink to the working size,
 * flatten, sRGB) run straight through sharp with no pixel limit, so the cost
 * of each format is measured even where the server now refuses it. Prints
 * {"ms", "peak_rss_mb", "base_rss_mb"} as one JSON line.
 *
 *   node --import tsx src/bench/decode-child.ts FILE
 */
import fs from 'node:fs';
import sharp from 'sharp';
import { DEFAULT_WORKING_SIZE } from '../inference/decode.js';

const bytes = fs.readFileSync(process.argv[2]);
const base = process.resourceUsage().maxRSS;
const t0 = performance.now();
await sharp(bytes, { limitInputPixels: false, failOn: 'truncated', page: 0, pages: 1 })
  .rotate()
  .resize(DEFAULT_WORKING_SIZE, DEFAULT_WORKING_SIZE, { fit: 'inside', withoutEnlargement: true })
  .flatten({ background: '#ffffff' })
  .toColourspace('srgb')
  .raw()
  .toBuffer();
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, peak_rss_mb: process.resourceUsage().maxRSS / 1024, base_rss_mb: base / 1024 }));
