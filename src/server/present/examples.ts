/**
 * The examples strip: a few photos to try with one click. They are read from
 * an installed npm package (@vladmandic/face-api, MIT licence, which ships
 * them as demo/sample*.jpg), never copied into this repository and never
 * taken from FER2013. When the package is absent the strip is simply empty.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import sharp from 'sharp';
import { packageFile } from '../paths.js';

export interface Example {
  id: string;
  /** Text alternative for the thumbnail. */
  alt: string;
  file: string;
}

export const EXAMPLES_CREDIT = 'Example photos: demo images of the @vladmandic/face-api npm package (MIT licence).';

const CANDIDATES: Array<Omit<Example, 'file'>> = [
  { id: 'sample1', alt: 'Three friends in party costumes, smiling' },
  { id: 'sample3', alt: 'Three women on a sofa, smiling at the camera' },
  { id: 'sample4', alt: 'Four friends posing together' },
  { id: 'sample6', alt: 'Four women standing side by side, smiling' },
];

export interface ExampleSet {
  list: Example[];
  get(id: string): Example | undefined;
  /** The full photo's bytes (what a click on the example analyses). */
  read(id: string): Promise<Uint8Array>;
  /** A small JPEG for the strip, made once and kept. */
  thumbnail(id: string): Promise<Uint8Array>;
}

export const THUMB_HEIGHT = 96;

/** Finds the example photos that are installed. */
export function loadExamples(): ExampleSet {
  const list: Example[] = [];
  for (const c of CANDIDATES) {
    const file = packageFile('@vladmandic/face-api', `demo/${c.id}.jpg`);
    if (file && fs.existsSync(file)) list.push({ ...c, file });
  }
  return examplesFrom(list);
}

export function examplesFrom(list: Example[]): ExampleSet {
  const byId = new Map(list.map((e) => [e.id, e]));
  const thumbs = new Map<string, Promise<Uint8Array>>();
  const need = (id: string): Example => {
    const ex = byId.get(id);
    if (!ex) throw new Error(`unknown example ${id}`);
    return ex;
  };
  return {
    list,
    get: (id) => byId.get(id),
    read: async (id) => new Uint8Array(await fsp.readFile(need(id).file)),
    thumbnail(id) {
      const ex = need(id);
      let t = thumbs.get(id);
      if (!t) {
        // Retina-sharp at the strip's height, and small enough to load at once.
        t = sharp(ex.file)
          .rotate()
          .resize({ height: THUMB_HEIGHT * 2 })
          .jpeg({ quality: 78 })
          .toBuffer()
          .then((b) => new Uint8Array(b));
        t.catch(() => thumbs.delete(id));
        thumbs.set(id, t);
      }
      return t;
    },
  };
}
