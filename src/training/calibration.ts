/**
 * How well a model's scores match how often it is right, and the temperature
 * that makes them match better (inference/calibration.ts applies it).
 *  - ECE: the faces are put in bins by their top score; per bin, the gap
 *    between the mean top score and the share that is right, weighted by the
 *    bin's size (Guo et al., "On Calibration of Modern Neural Networks").
 *  - The temperature minimises the mean negative log-likelihood. That is
 *    convex in 1/T, so a golden-section search over 1/T finds it.
 */
import { applyTemperature } from '../inference/calibration.js';
import { NUM_CLASSES } from '../types.js';

export const ECE_BINS = 15;

export interface ReliabilityBin {
  /** Bin edges on the top score. */
  lo: number;
  hi: number;
  count: number;
  /** Mean top score and share right in the bin (null when the bin is empty). */
  confidence: number | null;
  accuracy: number | null;
}

function topOf(probs: Float32Array, o: number): { k: number; p: number } {
  let k = 0;
  for (let j = 1; j < NUM_CLASSES; j++) if (probs[o + j] > probs[o + k]) k = j;
  return { k, p: probs[o + k] };
}

/** Reliability bins of the top score (equal width over 0-1). */
export function reliability(probs: Float32Array, labels: Uint8Array, bins = ECE_BINS): ReliabilityBin[] {
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const { k, p } = topOf(probs, i * NUM_CLASSES);
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]++;
    conf[b] += p;
    if (k === labels[i]) right[b]++;
  }
  return count.map((c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    confidence: c ? conf[b] / c : null,
    accuracy: c ? right[b] / c : null,
  }));
}

/** Expected calibration error (0 = perfectly calibrated). */
export function expectedCalibrationError(probs: Float32Array, labels: Uint8Array, bins = ECE_BINS): number {
  if (labels.length === 0) return 0;
  let sum = 0;
  for (const b of reliability(probs, labels, bins)) if (b.count) sum += b.count * Math.abs(b.confidence! - b.accuracy!);
  return sum / labels.length;
}

/** Mean negative log-likelihood of the true labels. */
export function meanNll(probs: Float32Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(probs[i * NUM_CLASSES + labels[i]], 1e-12));
  return labels.length ? s / labels.length : 0;
}

/** Mean NLL of `probs` rescaled by `temperature` (probs untouched). */
export function nllAt(probs: Float32Array, labels: Uint8Array, temperature: number): number {
  return meanNll(applyTemperature(Float32Array.from(probs), temperature), labels);
}

export interface TemperatureFit {
  temperature: number;
  nll_before: number;
  nll_after: number;
  ece_before: number;
  ece_after: number;
}

/** The temperature in [0.05, 20] with the lowest NLL on these rows, and the figures before and after. */
export function fitTemperature(probs: Float32Array, labels: Uint8Array): TemperatureFit {
  if (labels.length === 0) throw new Error('no rows to fit a temperature on');
  if (probs.length !== labels.length * NUM_CLASSES) throw new Error(`${probs.length} scores for ${labels.length} rows`);
  const f = (beta: number) => nllAt(probs, labels, 1 / beta);
  // Golden-section search over beta = 1/T.
  const g = (Math.sqrt(5) - 1) / 2;
  let a = 0.05,
    b = 20;
  let c = b - g * (b - a),
    d = a + g * (b - a);
  let fc = f(c),
    fd = f(d);
  while (b - a > 1e-4) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  const temperature = 1 / ((a + b) / 2);
  const after = applyTemperature(Float32Array.from(probs), temperature);
  return {
    temperature,
    nll_before: meanNll(probs, labels),
    nll_after: meanNll(after, labels),
    ece_before: expectedCalibrationError(probs, labels),
    ece_after: expectedCalibrationError(after, labels),
  };
}
