/** Classification metrics from a confusion matrix (rows = true class). */
import { LABELS, NUM_CLASSES, type Label } from '../types.js';
import type { ClassMetrics, EvalReport } from '../artifacts/card.js';

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, k = NUM_CLASSES): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

/** Accuracy, macro-F1 and per-class precision/recall/F1 (0 where undefined). */
export function metricsFromConfusion(confusion: number[][]): Omit<EvalReport, 'model' | 'usage'> {
  const k = confusion.length;
  let correct = 0,
    n = 0;
  const perClass = {} as Record<Label, ClassMetrics>;
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[LABELS[c]] = { precision, recall, f1, support };
    f1Sum += f1;
    correct += tp;
    n += support;
  }
  return { n, accuracy: n ? correct / n : 0, macro_f1: f1Sum / k, per_class: perClass, confusion };
}

/** Index of the largest value in each row of a [n, k] score array. */
export function argmaxRows(scores: Float32Array, k = NUM_CLASSES): Uint8Array {
  const n = scores.length / k;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j] > scores[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}
