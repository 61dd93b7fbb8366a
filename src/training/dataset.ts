/**
 * FER2013 data sets: the Kaggle CSV (`emotion,pixels,Usage`, optionally
 * gzip-compressed, streamed line by line) and the Kaggle image-folder layout
 * (`train/<class>/*`, `test/<class>/*`). Every row is validated; a bad row is
 * reported by file and line and either stops the load or is skipped.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import sharp from 'sharp';
import { FACE_SIZE, LABELS, USAGES, type Usage } from '../types.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { mulberry32, shuffleInPlace } from './random.js';

/** Faces of one split: n grey 48x48 images (row-major, concatenated) and their labels. */
export interface Split {
  pixels: Uint8Array;
  labels: Uint8Array;
  get size(): number;
}

export type DataSet = Map<Usage, Split>;

export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    message: string,
  ) {
    super(line == null ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'DataError';
  }
}

export interface LoadOptions {
  /** Skip bad rows (each reported through `onWarning`) instead of stopping. */
  skipBad?: boolean;
  /** Only keep these splits (others are still validated). */
  usages?: readonly Usage[];
  onWarning?: (message: string) => void;
}

/** Growable buffer of faces, so a 290 MB CSV streams without holding strings. */
class SplitBuilder {
  private pixels = new Uint8Array(FACE_PIXELS * 1024);
  private labels = new Uint8Array(1024);
  n = 0;
  push(face: Uint8Array, label: number): void {
    if (this.n === this.labels.length) {
      const p = new Uint8Array(this.pixels.length * 2);
      p.set(this.pixels);
      this.pixels = p;
      const l = new Uint8Array(this.labels.length * 2);
      l.set(this.labels);
      this.labels = l;
    }
    this.pixels.set(face, this.n * FACE_PIXELS);
    this.labels[this.n++] = label;
  }
  build(): Split {
    return makeSplit(this.pixels.slice(0, this.n * FACE_PIXELS), this.labels.slice(0, this.n));
  }
}

export function makeSplit(pixels: Uint8Array, labels: Uint8Array): Split {
  if (pixels.length !== labels.length * FACE_PIXELS) throw new Error('pixels and labels disagree in length');
  return {
    pixels,
    labels,
    get size() {
      return labels.length;
    },
  };
}

/** Parses one CSV data row; returns an error message instead of throwing. */
export function parseRow(line: string, face: Uint8Array): { label: number; usage: Usage } | string {
  const c1 = line.indexOf(',');
  const c2 = line.indexOf(',', c1 + 1);
  if (c1 < 0 || c2 < 0) return 'expected 3 comma-separated fields: emotion,pixels,Usage';
  const emotionText = line.slice(0, c1).trim();
  const label = Number(emotionText);
  if (!/^\d+$/.test(emotionText) || label > 6) return `emotion must be an integer 0-6, got "${emotionText.slice(0, 20)}"`;
  const usage = line
    .slice(c2 + 1)
    .trim()
    .replace(/^"|"$/g, '');
  if (!(USAGES as readonly string[]).includes(usage)) return `Usage must be one of ${USAGES.join(', ')}, got "${usage.slice(0, 20)}"`;
  const pixelText = line.slice(c1 + 1, c2).replace(/^"|"$/g, '');
  let count = 0,
    value = -1;
  for (let i = 0; i <= pixelText.length; i++) {
    const ch = i < pixelText.length ? pixelText.charCodeAt(i) : 32;
    if (ch >= 48 && ch <= 57) {
      value = (value < 0 ? 0 : value * 10) + (ch - 48);
      if (value > 255) return `pixel ${count + 1} is above 255`;
    } else if (ch === 32) {
      if (value >= 0) {
        if (count >= FACE_PIXELS) return `pixels has more than ${FACE_PIXELS} values`;
        face[count++] = value;
        value = -1;
      }
    } else {
      return `pixels must be ${FACE_PIXELS} space-separated integers 0-255, found "${pixelText[i]}"`;
    }
  }
  if (count !== FACE_PIXELS) return `pixels has ${count} values, expected ${FACE_PIXELS} (48x48)`;
  return { label, usage: usage as Usage };
}

/** Streams a FER2013 CSV (.csv or .csv.gz). */
export async function loadCsv(file: string, options: LoadOptions = {}): Promise<DataSet> {
  const builders = new Map<Usage, SplitBuilder>();
  const keep = new Set(options.usages ?? USAGES);
  let input: NodeJS.ReadableStream = fs.createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    (input as fs.ReadStream)
      .once('open', () => resolve())
      .once('error', (e) => reject(new DataError(file, null, `cannot open (${e.message})`)));
  });
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    (input as fs.ReadStream).pipe(gunzip);
    input = gunzip;
  }
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const face = new Uint8Array(FACE_PIXELS);
  let lineNo = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = raw.trim();
      if (lineNo === 1) {
        if (!/^emotion\s*,\s*pixels\s*,\s*usage$/i.test(line)) {
          throw new DataError(file, 1, `expected the header "emotion,pixels,Usage", got "${line.slice(0, 60)}"`);
        }
        continue;
      }
      if (line === '') continue;
      const row = parseRow(line, face);
      if (typeof row === 'string') {
        const err = new DataError(file, lineNo, row);
        if (!options.skipBad) throw err;
        options.onWarning?.(`skipped ${err.message}`);
        continue;
      }
      if (!keep.has(row.usage)) continue;
      let b = builders.get(row.usage);
      if (!b) {
        b = new SplitBuilder();
        builders.set(row.usage, b);
      }
      b.push(face, row.label);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, lineNo || null, `cannot read (${(e as Error).message})`);
  } finally {
    lines.close();
  }
  if (lineNo === 0) throw new DataError(file, null, 'the file is empty');
  return new Map([...builders].map(([u, b]) => [u, b.build()]));
}

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp|tiff?)$/i;
const FOLDER_USAGE: Record<string, Usage> = { train: 'Training', test: 'PublicTest', val: 'PublicTest', validation: 'PublicTest' };

/** Loads the Kaggle image-folder layout: <root>/train/<class>/*.jpg, <root>/test/<class>/*. */
export async function loadImageFolders(root: string, options: LoadOptions = {}): Promise<DataSet> {
  const out: DataSet = new Map();
  const keep = new Set(options.usages ?? USAGES);
  const entries = await fsp.readdir(root, { withFileTypes: true });
  const splits = entries.filter((e) => e.isDirectory() && FOLDER_USAGE[e.name.toLowerCase()]);
  if (splits.length === 0) {
    throw new DataError(root, null, 'expected sub-folders train/ and test/ with one folder per class (angry, disgust, ...)');
  }
  for (const dir of splits) {
    const usage = FOLDER_USAGE[dir.name.toLowerCase()];
    if (!keep.has(usage)) continue;
    const builder = new SplitBuilder();
    const classDirs = await fsp.readdir(path.join(root, dir.name), { withFileTypes: true });
    for (const cd of classDirs.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const label = (LABELS as readonly string[]).indexOf(cd.name.toLowerCase());
      const classPath = path.join(root, dir.name, cd.name);
      if (label < 0) {
        const err = new DataError(classPath, null, `unknown class folder; expected one of ${LABELS.join(', ')}`);
        if (!options.skipBad) throw err;
        options.onWarning?.(`skipped ${err.message}`);
        continue;
      }
      const files = (await fsp.readdir(classPath)).filter((f) => IMAGE_EXT.test(f)).sort();
      for (const f of files) {
        const file = path.join(classPath, f);
        try {
          const { data } = await sharp(file)
            .rotate()
            .greyscale()
            .resize(FACE_SIZE, FACE_SIZE, { fit: 'fill' })
            .raw()
            .toBuffer({ resolveWithObject: true });
          builder.push(new Uint8Array(data.buffer, data.byteOffset, FACE_PIXELS), label);
        } catch (e) {
          const err = new DataError(file, null, `not a readable image (${(e as Error).message})`);
          if (!options.skipBad) throw err;
          options.onWarning?.(`skipped ${err.message}`);
        }
      }
    }
    out.set(usage, builder.build());
  }
  return out;
}

/** Loads a CSV, a .csv.gz or an image-folder root, by what the path is. */
export async function loadDataSet(dataPath: string, options: LoadOptions = {}): Promise<DataSet> {
  let stat: fs.Stats;
  try {
    stat = await fsp.stat(dataPath);
  } catch {
    throw new DataError(dataPath, null, 'no such file or folder');
  }
  return stat.isDirectory() ? loadImageFolders(dataPath, options) : loadCsv(dataPath, options);
}

/** Per-class counts of a split, in label order. */
export function classCounts(split: Split): number[] {
  const counts = new Array<number>(LABELS.length).fill(0);
  for (const l of split.labels) counts[l]++;
  return counts;
}

/** Rows of `split` at `indices`, as a new split. */
export function subset(split: Split, indices: ArrayLike<number>): Split {
  const pixels = new Uint8Array(indices.length * FACE_PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    pixels.set(split.pixels.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), i * FACE_PIXELS);
    labels[i] = split.labels[k];
  }
  return makeSplit(pixels, labels);
}

/** Stratified, seeded hold-out: `fraction` of each class goes to the second split. */
export function stratifiedSplit(split: Split, fraction: number, seed: number): [Split, Split] {
  const rng = mulberry32(seed);
  const byClass: number[][] = LABELS.map(() => []);
  split.labels.forEach((l, i) => byClass[l].push(i));
  const train: number[] = [],
    held: number[] = [];
  for (const idx of byClass) {
    shuffleInPlace(idx, rng);
    const k = Math.round(idx.length * fraction);
    held.push(...idx.slice(0, k));
    train.push(...idx.slice(k));
  }
  train.sort((a, b) => a - b);
  held.sort((a, b) => a - b);
  return [subset(split, train), subset(split, held)];
}

/** The splits to train and validate on: Training + PublicTest, or a held-out part of Training. */
export function trainValSplits(data: DataSet, seed: number, valFraction = 0.1): { train: Split; val: Split; valName: string } {
  const train = data.get('Training');
  if (!train || train.size === 0) throw new Error('the data has no Training rows');
  const val = data.get('PublicTest');
  if (val && val.size > 0) return { train, val, valName: 'PublicTest' };
  const [t, v] = stratifiedSplit(train, valFraction, seed);
  return { train: t, val: v, valName: `held-out ${Math.round(valFraction * 100)}% of Training (seed ${seed})` };
}
