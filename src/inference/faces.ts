/**
 * Where the faces are, and cutting them out as 48x48 grey squares.
 *
 * `findFaces` is the seam for face detection (issue 5 puts a real detector
 * here). Until then it assumes the photo is a portrait or an already cropped
 * face and returns its centred square, which is also exactly right for
 * FER2013-style 48x48 faces.
 */
import sharp from 'sharp';
import { FACE_SIZE } from '../types.js';
import type { GreyImage } from './decode.js';

/** A face in the upright original photo's pixels (what the API reports). */
export interface Box { x: number; y: number; width: number; height: number }

/** Returns the faces in `image`, largest first. For now: one centred square. */
export function findFaces(image: GreyImage): Box[] {
  const side = Math.min(image.width, image.height);
  return [{
    x: Math.floor((image.width - side) / 2),
    y: Math.floor((image.height - side) / 2),
    width: side,
    height: side,
  }];
}

/** Maps a box from original pixels into the (possibly smaller) working image, clamped to it. */
function toWorking(image: GreyImage, box: Box): { left: number; top: number; width: number; height: number } {
  const sx = image.workWidth / image.width;
  const sy = image.workHeight / image.height;
  const left = Math.min(Math.max(0, Math.floor(box.x * sx)), image.workWidth - 1);
  const top = Math.min(Math.max(0, Math.floor(box.y * sy)), image.workHeight - 1);
  const width = Math.max(1, Math.min(image.workWidth - left, Math.round(box.width * sx)));
  const height = Math.max(1, Math.min(image.workHeight - top, Math.round(box.height * sy)));
  return { left, top, width, height };
}

/**
 * Cuts each box out and resizes it to 48x48 grey: the input `facesToTensor`
 * expects (faces concatenated, row-major, 0-255).
 */
export async function cropFaces(image: GreyImage, boxes: Box[]): Promise<Uint8Array> {
  const px = FACE_SIZE * FACE_SIZE;
  const out = new Uint8Array(boxes.length * px);
  await Promise.all(boxes.map(async (box, i) => {
    const face = await sharp(image.data, { raw: { width: image.workWidth, height: image.workHeight, channels: 1 } })
      .extract(toWorking(image, box))
      .resize(FACE_SIZE, FACE_SIZE, { fit: 'fill' })
      .toColourspace('b-w')
      .raw()
      .toBuffer();
    out.set(face.subarray(0, px), i * px);
  }));
  return out;
}
