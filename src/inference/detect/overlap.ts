/**
 * One box per face. Non-max suppression by IoU (what the detectors do) keeps
 * a half-face box beside the whole-face box when a face fills the photo: the
 * two overlap little by IoU because one is much smaller, yet the small one
 * lies almost wholly inside the big one. Two real faces are never mostly
 * inside each other, so a box mostly inside a better one is the same face.
 */
import type { Detection } from './types.js';

/** A box whose area lies this much inside a better-scoring box is dropped. */
export const CONTAINED_THRESHOLD = 0.5;

/** Intersection area over the smaller box's area (0-1). */
export function overlapOfSmaller(a: Detection, b: Detection): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const smaller = Math.min(a.width * a.height, b.width * b.height);
  return smaller > 0 ? (ix * iy) / smaller : 0;
}

/**
 * Greedy suppression by overlap of the smaller box: best score first, a box
 * is kept when no kept box overlaps it by `threshold` or more. Returns at most
 * `maxFaces`, best first.
 */
export function suppressContained(found: Detection[], maxFaces: number, threshold = CONTAINED_THRESHOLD): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...found].sort((a, b) => b.score - a.score)) {
    if (kept.length >= maxFaces) break;
    if (kept.every((k) => overlapOfSmaller(k, d) < threshold)) kept.push(d);
  }
  return kept;
}
