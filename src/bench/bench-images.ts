/**
 * The two uploads the server figures use: a 640x480 photo with one
 * face, and a 48x48 grey face like a FER2013 crop (sent with ?whole=1, as a
 * cropped face should be). The photo is cut from a demo image of
 * @vladmandic/face-api (read from node_modules); the 48x48 face is what our
 * own detector and cropper take out of it. Without that package a drawn face
 * stands in, and `source` says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../inference/decode.js';
import { cropFaces, findFaces } from '../inference/faces.js';
import { FACE_SIZE } from '../types.js';
import { demoPhotosDir } from './demo-faces.js';

export { demoPhotosDir };

export interface BenchImages {
  /** 640x480 JPEG, one face. */
  photo: Buffer;
  /** 48x48 grey PNG of a face. */
  face48: Buffer;
  source: string;
}

function drawnFace(size: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 96 96">
    <rect width="96" height="96" fill="#404040"/><ellipse cx="48" cy="50" rx="30" ry="38" fill="#c8c8c8"/>
    <circle cx="36" cy="40" r="5" fill="#202020"/><circle cx="60" cy="40" r="5" fill="#202020"/>
    <path d="M32 66 Q48 80 64 66" stroke="#202020" stroke-width="4" fill="none"/></svg>`);
}

/** The left woman of demo sample3 with room around her: one face, 640x480 JPEG (the server and faces sections use it). */
export function oneFacePhoto(sample3: Buffer): Promise<Buffer> {
  return sharp(sample3).extract({ left: 200, top: 150, width: 800, height: 600 }).resize(640, 480).jpeg({ quality: 90 }).toBuffer();
}

export async function benchImages(): Promise<BenchImages> {
  const demo = demoPhotosDir();
  if (!demo) {
    const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#6080a0' } })
      .composite([{ input: await sharp(drawnFace(400)).png().toBuffer(), gravity: 'centre' }])
      .jpeg({ quality: 90 })
      .toBuffer();
    const face48 = await sharp(drawnFace(FACE_SIZE)).greyscale().png().toBuffer();
    return { photo, face48, source: 'a drawn face (the @vladmandic/face-api demo photos are not installed)' };
  }
  const photo = await oneFacePhoto(fs.readFileSync(path.join(demo, 'sample3.jpg')));
  const image = await decodeImage(photo, { maxPixels: 50_000_000 });
  const regions = await findFaces(image, { maxFaces: 1 });
  const face = regions.length
    ? (await cropFaces(image, regions)).subarray(0, FACE_SIZE * FACE_SIZE)
    : await sharp(drawnFace(FACE_SIZE)).greyscale().raw().toBuffer();
  const face48 = await sharp(Buffer.from(face), { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 } })
    .png()
    .toBuffer();
  return {
    photo,
    face48,
    source: `@vladmandic/face-api demo/sample3.jpg (640x480 crop; the 48x48 face ${regions.length ? 'cut out by our detector' : 'drawn: no face found'})`,
  };
}
