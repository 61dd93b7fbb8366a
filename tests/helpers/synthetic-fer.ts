/**
 * Synthetic FER2013-style data for tests (never real faces), two generators:
 *
 *  - `syntheticFerCsv` / `makeSyntheticFer(seed)`: each class k is a bright
 *    horizontal band at its own height over seeded noise; classes imbalanced
 *    (disgust rare, happy common) like the real set. Tiny and quick.
 *  - `makeSyntheticFaces(options)`: drawn 48x48 grey faces whose brows, eyes
 *    and mouth differ by class (a smile for happy, an O for surprise, ...),
 *    with seeded jitter and noise, written as the Kaggle CSV, the same
 *    gzipped, and the Kaggle image-folder layout (train/<class>/*.png,
 *    test/<class>/*.png) so every loader reads the same faces.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { FACE_SIZE, LABELS, NUM_CLASSES, type Usage } from '../../src/types.js';
import { mulberry32, type Rng } from '../../src/training/random.js';

/** Rows per class for Training; PublicTest gets a third of each (at least 2). */
export const SYNTHETIC_TRAINING = [12, 3, 10, 20, 12, 8, 14];

export function syntheticFace(label: number, rng: () => number): number[] {
  const px: number[] = [];
  const band = 3 + label * 6;
  for (let y = 0; y < FACE_SIZE; y++) {
    for (let x = 0; x < FACE_SIZE; x++) {
      const inBand = y >= band && y < band + 5;
      px.push(Math.max(0, Math.min(255, Math.round((inBand ? 200 : 60) + (rng() - 0.5) * 80))));
    }
  }
  return px;
}

export function syntheticFerCsv(seed = 7, perClass: number[] = SYNTHETIC_TRAINING): string {
  const rng = mulberry32(seed);
  const lines = ['emotion,pixels,Usage'];
  for (const [usage, scale] of [
    ['Training', 1],
    ['PublicTest', 1 / 3],
  ] as const) {
    for (let k = 0; k < NUM_CLASSES; k++) {
      const n = usage === 'Training' ? perClass[k] : Math.max(2, Math.round(perClass[k] * scale));
      for (let i = 0; i < n; i++) lines.push(`${k},${syntheticFace(k, rng).join(' ')},${usage}`);
    }
  }
  return lines.join('\n') + '\n';
}

export interface SyntheticData {
  dir: string;
  csv: string;
  cleanup(): Promise<void>;
}

/** Writes the synthetic CSV into a fresh temporary folder. */
export async function makeSyntheticFer(seed = 7): Promise<SyntheticData> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-fer-'));
  const csv = path.join(dir, 'synthetic-fer.csv');
  await fs.writeFile(csv, syntheticFerCsv(seed));
  return { dir, csv, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------
// Drawn faces (tests of the loaders, training and evaluation).

const S = FACE_SIZE;
const PIXELS = S * S;

type Point = [number, number];

/** A float canvas with a few stamping primitives (enough for a cartoon face). */
class Canvas {
  readonly px = new Float32Array(PIXELS);
  fill(v: number): void {
    this.px.fill(v);
  }
  disc(cx: number, cy: number, r: number, v: number): void {
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(S - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(S - 1, Math.ceil(cx + r)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.px[y * S + x] = v;
      }
    }
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, v: number): void {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) this.px[y * S + x] = v;
      }
    }
  }
  /** A thick quadratic Bezier stroke from a to b bent towards c. */
  curve(a: Point, c: Point, b: Point, width: number, v: number): void {
    for (let i = 0; i <= 40; i++) {
      const t = i / 40,
        u = 1 - t;
      this.disc(u * u * a[0] + 2 * u * t * c[0] + t * t * b[0], u * u * a[1] + 2 * u * t * c[1] + t * t * b[1], width / 2, v);
    }
  }
  line(a: Point, b: Point, width: number, v: number): void {
    this.curve(a, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], b, width, v);
  }
}

/** Draws one face of class `label` (0-6) with jitter from `rng`; returns 0-255 integers. */
export function drawFace(label: number, rng: Rng, noise = 10): Uint8Array {
  const j = (amount: number) => (rng() * 2 - 1) * amount;
  const dx = j(2),
    dy = j(2);
  const P = (x: number, y: number): Point => [x + dx + j(0.7), y + dy + j(0.7)];
  const bg = 40 + rng() * 40,
    skin = 165 + rng() * 40,
    dark = 20 + rng() * 30;
  const c = new Canvas();
  c.fill(bg);
  c.ellipse(24 + dx, 25 + dy, 16 + j(1), 20 + j(1), skin);
  // Brows (left, right) and eye size, by class.
  let eyeR = 2.2;
  switch (label) {
    case 0: // angry: brows slanting down to the nose
      c.line(P(11, 11), P(21, 16), 2, dark);
      c.line(P(27, 16), P(37, 11), 2, dark);
      break;
    case 1: // disgust: one brow down, the other level
      c.line(P(11, 15), P(21, 16), 2, dark);
      c.line(P(27, 12), P(37, 12), 2, dark);
      break;
    case 2: // fear: inner ends raised, wide eyes
      c.line(P(11, 14), P(21, 9), 2, dark);
      c.line(P(27, 9), P(37, 14), 2, dark);
      eyeR = 3.4;
      break;
    case 4: // sad: inner ends raised a little
      c.line(P(11, 14), P(21, 11), 2, dark);
      c.line(P(27, 11), P(37, 14), 2, dark);
      break;
    case 5: // surprise: high arches, wide eyes
      c.curve(P(11, 11), P(16, 5), P(21, 10), 2, dark);
      c.curve(P(27, 10), P(32, 5), P(37, 11), 2, dark);
      eyeR = 3.4;
      break;
    default: // happy, neutral: level brows
      c.line(P(11, 12), P(21, 12), 2, dark);
      c.line(P(27, 12), P(37, 12), 2, dark);
  }
  c.disc(17 + dx, 20 + dy, eyeR, dark);
  c.disc(31 + dx, 20 + dy, eyeR, dark);
  // Mouth, by class.
  switch (label) {
    case 0:
      c.line(P(17, 36), P(31, 36), 2.5, dark);
      break; // angry: tight flat
    case 1:
      c.line(P(16, 37), P(31, 32), 2.5, dark);
      break; // disgust: lopsided sneer
    case 2:
      c.ellipse(24 + dx, 36 + dy, 6, 2.2, dark);
      break; // fear: wide, slightly open
    case 3:
      c.curve(P(14, 32), P(24, 43), P(34, 32), 2.5, dark);
      break; // happy: smile
    case 4:
      c.curve(P(16, 38), P(24, 30), P(32, 38), 2.5, dark);
      break; // sad: frown
    case 5:
      c.ellipse(24 + dx, 36 + dy, 4, 5.5, dark);
      break; // surprise: round O
    default:
      c.line(P(18, 35), P(30, 35), 1.5, dark); // neutral: thin straight line
  }
  const out = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) {
    // Sum of uniforms: cheap, roughly Gaussian noise.
    const n = (rng() + rng() + rng() - 1.5) * 2 * noise;
    out[i] = Math.max(0, Math.min(255, Math.round(c.px[i] + n)));
  }
  return out;
}

export interface SyntheticFacesOptions {
  /** Training faces per class (a number, or one per class). Default 40. */
  trainPerClass?: number | number[];
  /** PublicTest faces per class (0: no PublicTest rows). Default 10. */
  testPerClass?: number | number[];
  seed?: number;
  /** Also write the image-folder layout (slower: one PNG per face). Default true. */
  folders?: boolean;
  /** Noise amplitude in grey levels. Default 10. */
  noise?: number;
}

export interface SyntheticSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface SyntheticFaces {
  dir: string;
  csv: string;
  csvGz: string;
  /** Root of train/<class>/, test/<class>/ (when `folders`). */
  folder: string;
  splits: Partial<Record<Usage, SyntheticSplit>>;
  cleanup(): Promise<void>;
}

const perClass = (v: number | number[], c: number) => (typeof v === 'number' ? v : v[c]);

function drawSplit(counts: number | number[], rng: Rng, noise: number): SyntheticSplit {
  const labels: number[] = [];
  // Interleave classes, as real rows are not sorted by class.
  const left = LABELS.map((_, c) => perClass(counts, c));
  while (left.some((n) => n > 0)) {
    for (let c = 0; c < LABELS.length; c++) if (left[c]-- > 0) labels.push(c);
  }
  const pixels = new Uint8Array(labels.length * PIXELS);
  labels.forEach((l, i) => pixels.set(drawFace(l, rng, noise), i * PIXELS));
  return { pixels, labels: Uint8Array.from(labels) };
}

/** CSV text in the Kaggle layout for the given splits (rows in split order). */
export function toCsv(splits: Partial<Record<Usage, SyntheticSplit>>): string {
  const lines = ['emotion,pixels,Usage'];
  for (const [usage, s] of Object.entries(splits) as Array<[Usage, SyntheticSplit]>) {
    for (let i = 0; i < s.labels.length; i++) {
      lines.push(`${s.labels[i]},${Array.from(s.pixels.subarray(i * PIXELS, (i + 1) * PIXELS)).join(' ')},${usage}`);
    }
  }
  return lines.join('\n') + '\n';
}

const FOLDER_OF: Partial<Record<Usage, string>> = { Training: 'train', PublicTest: 'test' };

/** Draws the faces and writes them (CSV, .csv.gz, image folders) into a fresh temporary folder. */
export async function makeSyntheticFaces(options: SyntheticFacesOptions = {}): Promise<SyntheticFaces> {
  const { trainPerClass = 40, testPerClass = 10, seed = 7, folders = true, noise = 10 } = options;
  const rng = mulberry32(seed);
  const splits: Partial<Record<Usage, SyntheticSplit>> = { Training: drawSplit(trainPerClass, rng, noise) };
  if (LABELS.some((_, c) => perClass(testPerClass, c) > 0)) splits.PublicTest = drawSplit(testPerClass, rng, noise);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-faces-'));
  const csv = path.join(dir, 'fer2013.csv');
  const csvGz = path.join(dir, 'fer2013.csv.gz');
  const text = toCsv(splits);
  await fs.writeFile(csv, text);
  await fs.writeFile(csvGz, gzipSync(text));
  const folder = path.join(dir, 'images');
  if (folders) {
    for (const [usage, s] of Object.entries(splits) as Array<[Usage, SyntheticSplit]>) {
      const sub = FOLDER_OF[usage];
      if (!sub) continue;
      for (const label of LABELS) await fs.mkdir(path.join(folder, sub, label), { recursive: true });
      for (let i = 0; i < s.labels.length; i++) {
        const face = Buffer.from(s.pixels.subarray(i * PIXELS, (i + 1) * PIXELS));
        const file = path.join(folder, sub, LABELS[s.labels[i]], `${usage}_${String(i).padStart(5, '0')}.png`);
        await sharp(face, { raw: { width: S, height: S, channels: 1 } })
          .png()
          .toFile(file);
      }
    }
  }
  return { dir, csv, csvGz, folder, splits, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}
