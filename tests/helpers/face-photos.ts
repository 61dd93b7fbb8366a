/**
 * Real photos for the face tests, read from an installed npm package (the
 * demo images of @vladmandic/face-api, MIT licence; never FER2013), plus
 * images made here: a FER2013-like 48x48 grey face cut from one of them, and
 * a photo with no face at all.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { packageDir } from '../../src/inference/detect/package-dir.js';

/** Faces a person counts in each demo photo (checked by eye), their squares, and the close-up crops. */
export { DEMO_FACES, DEMO_FACE_BOXES, demoCases, matchFaces } from '../../src/bench/demo-faces.js';

const dir = packageDir('@vladmandic/face-api');
export const DEMO_DIR = dir ? path.join(dir, 'demo') : null;

/** Why face tests skip, or false when the photos are there. */
export const demoSkip: string | false =
  DEMO_DIR && fs.existsSync(path.join(DEMO_DIR, 'sample1.jpg'))
    ? false
    : '@vladmandic/face-api demo photos are not installed (npm install)';

export function demoPhoto(id: string): Buffer {
  if (!DEMO_DIR) throw new Error(String(demoSkip));
  return fs.readFileSync(path.join(DEMO_DIR, `${id}.jpg`));
}

/** A 48x48 grey PNG of the left woman's face in sample3: what a FER2013 image looks like. */
export async function ferLikeFacePng(): Promise<Buffer> {
  return sharp(demoPhoto('sample3')).extract({ left: 562, top: 367, width: 260, height: 260 }).resize(48, 48).greyscale().png().toBuffer();
}

/** A 640x480 left-to-right grey gradient: nothing like a face. */
export async function gradientJpeg(width = 640, height = 480): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g"><stop offset="0" stop-color="#202830"/><stop offset="1" stop-color="#e8e0d0"/></linearGradient></defs>
    <rect width="${width}" height="${height}" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

/** `photo` resized to exactly width x height (cover), as a JPEG. */
export async function resizedJpeg(photo: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(photo).resize(width, height, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
}
