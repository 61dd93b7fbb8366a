/** Numbers for the tests that compare a kernel's result on wasm with the cpu backend. */
import type { Rng } from '../../src/training/random.js';

/** `size` values uniform in [-1, 1) from `rng`. */
export function randomData(size: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: size }, () => rng() * 2 - 1);
}

/** max |a - b| / max |b|: the relative error of a whole result. */
export function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}
