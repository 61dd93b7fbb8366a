/**
 * Mixing faces within a batch (training only): mixup (Zhang et al. 2018) blends
 * each face with a partner from the same batch, cutmix (Yun et al. 2019) pastes a
 * rectangle of the partner into it. The targets are mixed in the same proportion
 * (step.ts), so the network learns from faces between the classes.
 */
import { FACE_SIZE } from '../types.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { type Rng, shuffleInPlace } from './random.js';

export type MixKind = 'mixup' | 'cutmix';

/** How faces are mixed; absent from a run's settings when they are not. */
export interface MixSettings {
  kind: MixKind;
  /** Both parameters of the Beta distribution the mixing proportion is drawn from. */
  alpha: number;
}

/** How one batch was mixed: face i is `lam` of itself and `1 - lam` of face `partner[i]`. */
export interface BatchMix {
  partner: Int32Array;
  lam: number;
}

/** A standard normal draw (Box-Muller). */
function normal(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: log(0) is never taken
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A Gamma(shape, 1) draw (Marsaglia and Tsang 2000; shape < 1 boosted through shape + 1). */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(1 - rng(), 1 / shape);
  const d = shape - 1 / 3,
    c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) draw. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = gamma(rng, a);
  const y = gamma(rng, b);
  return x + y > 0 ? x / (x + y) : 0.5;
}

/**
 * Mixes the first `count` faces of `faces` (48x48, float 0-255) in place: one proportion
 * per batch, partners by a random permutation. Cutmix's proportion is the area left
 * unpasted, after the rectangle is clipped to the face.
 */
export function mixBatch(faces: Float32Array, count: number, mix: MixSettings, rng: Rng): BatchMix {
  const order = new Uint32Array(count).map((_, i) => i);
  shuffleInPlace(order, rng);
  const partner = Int32Array.from(order);
  const original = faces.slice(0, count * FACE_PIXELS);
  let lam = sampleBeta(rng, mix.alpha, mix.alpha);
  if (mix.kind === 'mixup') {
    for (let i = 0; i < count; i++) {
      const a = i * FACE_PIXELS,
        b = partner[i] * FACE_PIXELS;
      for (let k = 0; k < FACE_PIXELS; k++) faces[a + k] = lam * original[a + k] + (1 - lam) * original[b + k];
    }
    return { partner, lam };
  }
  const S = FACE_SIZE;
  const side = Math.sqrt(1 - lam) * S;
  const cx = rng() * S,
    cy = rng() * S;
  const x0 = clamp(Math.round(cx - side / 2)),
    x1 = clamp(Math.round(cx + side / 2)),
    y0 = clamp(Math.round(cy - side / 2)),
    y1 = clamp(Math.round(cy + side / 2));
  for (let i = 0; i < count; i++) {
    const a = i * FACE_PIXELS,
      b = partner[i] * FACE_PIXELS;
    for (let y = y0; y < y1; y++) faces.set(original.subarray(b + y * S + x0, b + y * S + x1), a + y * S + x0);
  }
  lam = 1 - ((x1 - x0) * (y1 - y0)) / FACE_PIXELS;
  return { partner, lam };
}

const clamp = (v: number): number => Math.min(FACE_SIZE, Math.max(0, v));
