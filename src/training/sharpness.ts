/**
 * Detects training faces that are blurrier than the faces the model will see.
 *
 * The shared FER2013 copy is such a case: its Training faces have about 1/15
 * of the Laplacian energy of its PublicTest faces (like a Gaussian blur of
 * sigma ~2.7 px), so a model trained on them meets sharp photos as something
 * it never saw. We estimate the sigma that brings the reference (validation)
 * faces to the training sharpness; it becomes the card's `input.blur`, and the
 * shared preprocessing blurs every other face to match.
 */
import { blurFaces, FACE_PIXELS } from '../inference/preprocess.js';
import { FACE_SIZE } from '../types.js';
import type { Split } from './dataset.js';
import { mulberry32 } from './random.js';

/** Mean absolute 4-neighbour Laplacian per pixel: a simple sharpness measure. */
export function laplacianEnergy(faces: Uint8Array | Float32Array): number {
  const S = FACE_SIZE,
    n = faces.length / FACE_PIXELS;
  let total = 0;
  for (let o = 0; o < faces.length; o += FACE_PIXELS) {
    let acc = 0;
    for (let y = 1; y < S - 1; y++) {
      for (let x = 1; x < S - 1; x++) {
        const i = o + y * S + x;
        acc += Math.abs(4 * faces[i] - faces[i - 1] - faces[i + 1] - faces[i - S] - faces[i + S]);
      }
    }
    total += acc / ((S - 2) * (S - 2));
  }
  return n ? total / n : 0;
}

function sample(split: Split, count: number, seed: number): Uint8Array {
  const n = Math.min(count, split.size);
  const rng = mulberry32(seed);
  const out = new Uint8Array(n * FACE_PIXELS);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rng() * split.size);
    out.set(split.pixels.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), i * FACE_PIXELS);
  }
  return out;
}

export interface BlurEstimate {
  trainEnergy: number;
  referenceEnergy: number;
  /** Gaussian sigma that brings the reference faces to the training sharpness (0: none needed). */
  sigma: number;
}

/**
 * Compares the sharpness of training and reference faces; when the training
 * faces are clearly blurrier (energy ratio below `threshold`), finds by
 * bisection the sigma that blurs the reference faces to the same energy.
 */
export function estimateBlur(train: Split, reference: Split, threshold = 0.6, seed = 1): BlurEstimate {
  const t = sample(train, 600, seed),
    r = sample(reference, 600, seed + 1);
  const trainEnergy = laplacianEnergy(t),
    referenceEnergy = laplacianEnergy(r);
  if (referenceEnergy === 0 || trainEnergy / referenceEnergy >= threshold) return { trainEnergy, referenceEnergy, sigma: 0 };
  let lo = 0,
    hi = 8;
  for (let i = 0; i < 14; i++) {
    const mid = (lo + hi) / 2;
    if (laplacianEnergy(blurFaces(r, mid)) > trainEnergy) lo = mid;
    else hi = mid;
  }
  return { trainEnergy, referenceEnergy, sigma: Math.round(((lo + hi) / 2) * 100) / 100 };
}
