/**
 * On-the-fly, seeded augmentation of 48x48 grey faces (training only; never
 * at evaluation): one random affine warp per face (shift, scale, small
 * rotation, horizontal flip) with bilinear sampling and edge clamping, then
 * brightness/contrast jitter, and optionally a random erased rectangle.
 */
import { FACE_SIZE } from '../types.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { type Rng, uniform } from './random.js';

export interface AugmentOptions {
  /** Max shift as a fraction of the side (0.1 = +-4.8 px). */
  shift: number;
  /** Max relative zoom in/out (0.1 = 0.9x..1.1x). */
  scale: number;
  /** Max rotation in degrees. */
  rotation: number;
  /** Probability of a horizontal flip. */
  flip: number;
  /** Max brightness offset in grey levels and max relative contrast change. */
  brightness: number;
  contrast: number;
  /** Probability of erasing a random rectangle (Zhong et al. 2020). */
  erase: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = {
  shift: 0.1,
  scale: 0.1,
  rotation: 10,
  flip: 0.5,
  brightness: 25,
  contrast: 0.25,
  erase: 0.25,
};

export const NO_AUGMENT: AugmentOptions = { shift: 0, scale: 0, rotation: 0, flip: 0, brightness: 0, contrast: 0, erase: 0 };

/** Augments `count` faces from `src` (0-255) into `dst` (float 0-255). */
export function augmentFaces(src: Uint8Array | Float32Array, dst: Float32Array, count: number, o: AugmentOptions, rng: Rng): void {
  const S = FACE_SIZE,
    c = (S - 1) / 2;
  for (let k = 0; k < count; k++) {
    const inOff = k * FACE_PIXELS;
    const angle = (uniform(rng, -o.rotation, o.rotation) * Math.PI) / 180;
    const zoom = 1 + uniform(rng, -o.scale, o.scale);
    const tx = uniform(rng, -o.shift, o.shift) * S,
      ty = uniform(rng, -o.shift, o.shift) * S;
    const flip = rng() < o.flip ? -1 : 1;
    // Inverse map: output (x, y) -> source (sx, sy).
    const cos = Math.cos(angle) / zoom,
      sin = Math.sin(angle) / zoom;
    const contrast = 1 + uniform(rng, -o.contrast, o.contrast);
    const bright = uniform(rng, -o.brightness, o.brightness);
    let mean = 0;
    for (let i = 0; i < FACE_PIXELS; i++) mean += src[inOff + i];
    mean /= FACE_PIXELS;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const dx = (x - c) * flip - tx,
          dy = y - c - ty;
        let sx = cos * dx - sin * dy + c,
          sy = sin * dx + cos * dy + c;
        sx = sx < 0 ? 0 : sx > S - 1 ? S - 1 : sx;
        sy = sy < 0 ? 0 : sy > S - 1 ? S - 1 : sy;
        const x0 = Math.floor(sx),
          y0 = Math.floor(sy);
        const x1 = Math.min(x0 + 1, S - 1),
          y1 = Math.min(y0 + 1, S - 1);
        const fx = sx - x0,
          fy = sy - y0;
        const p = inOff + y0 * S,
          q = inOff + y1 * S;
        const v = (src[p + x0] * (1 - fx) + src[p + x1] * fx) * (1 - fy) + (src[q + x0] * (1 - fx) + src[q + x1] * fx) * fy;
        const w = (v - mean) * contrast + mean + bright;
        dst[inOff + y * S + x] = w < 0 ? 0 : w > 255 ? 255 : w;
      }
    }
    if (rng() < o.erase) {
      const h = Math.floor(uniform(rng, 0.15, 0.4) * S),
        w = Math.floor(uniform(rng, 0.15, 0.4) * S);
      const y0 = Math.floor(rng() * (S - h)),
        x0 = Math.floor(rng() * (S - w));
      const fill = rng() * 255;
      for (let y = y0; y < y0 + h; y++) dst.fill(fill, inOff + y * S + x0, inOff + y * S + x0 + w);
    }
  }
}
