/**
 * Temperature scaling: one number per model that softens (T > 1) or sharpens
 * (T < 1) its probabilities so that "70%" is right about 70% of the time. It
 * is fitted on PublicTest by `npm run calibrate` (training/calibration.ts) and
 * kept in the model's card; `predictFaces` applies it to every face. It never
 * changes which class is on top, only how sure the scores say the model is.
 */
import { NUM_CLASSES } from '../types.js';
import type { ModelCard } from '../artifacts/card.js';

export type { CalibrationCard } from '../artifacts/card.js';

/** The card's temperature, or 1 when it has none. */
export function temperatureOf(card: Pick<ModelCard, 'calibration'>): number {
  const t = card.calibration?.temperature;
  return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : 1;
}

/**
 * Rescales rows of probabilities (n x 7, in place) as softmax(log(p) / T),
 * which is softmax(logits / T) for a model ending in a softmax.
 */
export function applyTemperature(probs: Float32Array, temperature: number): Float32Array {
  if (temperature === 1) return probs;
  const logits = new Float64Array(NUM_CLASSES);
  for (let o = 0; o < probs.length; o += NUM_CLASSES) {
    let max = -Infinity;
    for (let k = 0; k < NUM_CLASSES; k++) {
      logits[k] = Math.log(Math.max(probs[o + k], 1e-12)) / temperature;
      if (logits[k] > max) max = logits[k];
    }
    let sum = 0;
    for (let k = 0; k < NUM_CLASSES; k++) {
      logits[k] = Math.exp(logits[k] - max);
      sum += logits[k];
    }
    for (let k = 0; k < NUM_CLASSES; k++) probs[o + k] = logits[k] / sum;
  }
  return probs;
}
