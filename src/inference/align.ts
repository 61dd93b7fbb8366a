/**
 * From a detector's box to the 48x48 grey face the model sees: widen the box
 * by a margin, make it square, turn it so the eyes are level (when the
 * detector found them), and sample it at 48x48.
 *
 * The sampling is done here in plain JS rather than with sharp because the
 * square is rotated: each output pixel is the average of k x k bilinear
 * samples of the source (k grows with the face size), which is a cheap
 * anti-aliased rotate-crop-shrink. Samples outside the photo take the nearest
 * edge pixel, so a face at the border gets no black band (FER2013 faces have none).
 */
import { FACE_SIZE } from '../types.js';
import type { Detection, Point } from './detect/types.js';

/** A face in the upright original photo's pixels (what the API reports). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The square the model looks at, in the upright original photo's pixels. */
export interface FaceRegion {
  /** The square without rotation, clamped to the photo and rounded (what the API reports and the page draws). */
  box: Box;
  centre: Point;
  /** Side of the (possibly rotated) square. */
  side: number;
  /** Roll in radians: how far the eye line is turned clockwise from level (0 when unknown). */
  angle: number;
  /** Detector confidence, or null for the whole-image square. */
  score: number | null;
}

/** How much wider than the detector's box the crop is when the caller does not say (BlazeFace's margin, detect/blazeface-decode.ts). */
export const DEFAULT_MARGIN = 1.25;
/** Rolls smaller than this are left alone: the eye keypoints jitter by a pixel or two. */
const MIN_ROLL = (2 * Math.PI) / 180;

/** The roll angle from the two eyes (person's right eye is on the picture's left). */
export function rollFromEyes(rightEye: Point, leftEye: Point): number {
  return Math.atan2(leftEye.y - rightEye.y, leftEye.x - rightEye.x);
}

/** The clamped, rounded axis-aligned square around `centre` (for reporting and drawing). */
function squareBox(centre: Point, side: number, width: number, height: number): Box {
  const x0 = Math.max(0, Math.round(centre.x - side / 2));
  const y0 = Math.max(0, Math.round(centre.y - side / 2));
  const x1 = Math.min(width, Math.round(centre.x + side / 2));
  const y1 = Math.min(height, Math.round(centre.y + side / 2));
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

/**
 * Turns a detection in working-image pixels into a face region in original
 * pixels. `scale` = original width / working width.
 */
export function regionFromDetection(
  d: Detection,
  scale: number,
  photo: { width: number; height: number },
  margin = DEFAULT_MARGIN,
): FaceRegion {
  const centre = { x: (d.x + d.width / 2) * scale, y: (d.y + d.height / 2) * scale };
  const side = Math.max(d.width, d.height) * margin * scale;
  let angle = d.rightEye && d.leftEye ? rollFromEyes(d.rightEye, d.leftEye) : 0;
  if (Math.abs(angle) < MIN_ROLL) angle = 0;
  return { box: squareBox(centre, side, photo.width, photo.height), centre, side, angle, score: d.score };
}

/**
 * Every detection as a face region (see regionFromDetection), left to right so
 * "face 1" is the leftmost one on the photo.
 */
export function regionsFromDetections(
  found: Detection[],
  scale: number,
  photo: { width: number; height: number },
  margin = DEFAULT_MARGIN,
): FaceRegion[] {
  return found.map((d) => regionFromDetection(d, scale, photo, margin)).sort((a, b) => a.centre.x - b.centre.x || a.centre.y - b.centre.y);
}

/** The photo's centred square as one face: the "whole image" choice, right for an already cropped face. */
export function wholeImageRegion(photo: { width: number; height: number }): FaceRegion {
  const side = Math.min(photo.width, photo.height);
  const centre = { x: photo.width / 2, y: photo.height / 2 };
  return {
    box: { x: Math.floor((photo.width - side) / 2), y: Math.floor((photo.height - side) / 2), width: side, height: side },
    centre,
    side,
    angle: 0,
    score: null,
  };
}

/** A grey image to sample from (the working copy of the photo). */
export interface GreySource {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Samples `region` (original pixels; the source is `scale` times smaller) at
 * FACE_SIZE x FACE_SIZE into `out` at `offset`, values 0-255.
 */
export function sampleRegion(src: GreySource, region: FaceRegion, scale: number, out: Uint8Array, offset: number): void {
  const { data, width, height } = src;
  const cx = region.centre.x / scale;
  const cy = region.centre.y / scale;
  const side = region.side / scale;
  const step = side / FACE_SIZE; // source pixels per output pixel
  const k = Math.max(1, Math.min(8, Math.ceil(step))); // sub-samples per axis
  const cos = Math.cos(region.angle);
  const sin = Math.sin(region.angle);
  const maxX = width - 1;
  const maxY = height - 1;
  const bilinear = (x: number, y: number): number => {
    x = Math.min(maxX, Math.max(0, x));
    y = Math.min(maxY, Math.max(0, y));
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const x1 = Math.min(maxX, x0 + 1);
    const y1 = Math.min(maxY, y0 + 1);
    const fx = x - x0;
    const fy = y - y0;
    const top = data[y0 * width + x0] * (1 - fx) + data[y0 * width + x1] * fx;
    const bottom = data[y1 * width + x0] * (1 - fx) + data[y1 * width + x1] * fx;
    return top * (1 - fy) + bottom * fy;
  };
  for (let v = 0; v < FACE_SIZE; v++) {
    for (let u = 0; u < FACE_SIZE; u++) {
      let sum = 0;
      for (let j = 0; j < k; j++) {
        // Offset from the centre along the face's own axes, in source pixels.
        const b = ((v + (j + 0.5) / k) / FACE_SIZE - 0.5) * side;
        for (let i = 0; i < k; i++) {
          const a = ((u + (i + 0.5) / k) / FACE_SIZE - 0.5) * side;
          // Pixel centres sit at +0.5: shift so sample coordinates index the data.
          sum += bilinear(cx + a * cos - b * sin - 0.5, cy + a * sin + b * cos - 0.5);
        }
      }
      out[offset + v * FACE_SIZE + u] = Math.round(sum / (k * k));
    }
  }
}

/** Each region sampled at FACE_SIZE x FACE_SIZE: the faces concatenated, row-major, 0-255 (what facesToTensor takes). */
export function sampleFaces(src: GreySource, regions: FaceRegion[], scale: number): Uint8Array {
  const px = FACE_SIZE * FACE_SIZE;
  const out = new Uint8Array(regions.length * px);
  regions.forEach((r, i) => sampleRegion(src, r, scale, out, i * px));
  return out;
}
