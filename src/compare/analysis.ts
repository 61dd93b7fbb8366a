/** Small readings of a confusion matrix, shared by the /compare page and the notebooks. */
import { LABELS } from '../types.js';
import type { HistoryEntry } from '../artifacts/card.js';

export interface Confusion {
  truth: string;
  predicted: string;
  count: number;
  /** count / faces of the true class. */
  rate: number;
  support: number;
}

/** Each row divided by its sum (0 for an empty row): what share of each true class went where. */
export function rowNormalise(confusion: number[][]): number[][] {
  return confusion.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s ? v / s : 0));
  });
}

/** The `k` off-diagonal cells with the largest share of their true class. */
export function mostConfused(confusion: number[][], k = 3, labels: readonly string[] = LABELS): Confusion[] {
  const rates = rowNormalise(confusion);
  const cells: Confusion[] = [];
  confusion.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      if (t !== p && count > 0) cells.push({ truth: labels[t], predicted: labels[p], count, rate: rates[t][p], support });
    });
  });
  return cells.sort((a, b) => b.rate - a.rate || b.count - a.count).slice(0, k);
}

export function describeConfusion(c: Confusion): string {
  return `${c.truth} taken for ${c.predicted}: ${(c.rate * 100).toFixed(1)}% of ${c.truth} faces (${c.count} of ${c.support})`;
}

export interface HistoryChange {
  epoch: number;
  text: string;
  phase?: string;
  lr?: number;
  prevLr?: number;
}

/** Epochs where the learning rate (or the training phase) changed, for the chart markers and the text. */
export function lrChanges(history: HistoryEntry[]): HistoryChange[] {
  const out: HistoryChange[] = [];
  for (let i = 1; i < history.length; i++) {
    const prev = history[i - 1],
      h = history[i];
    const parts: string[] = [];
    const change: HistoryChange = { epoch: h.epoch, text: '' };
    if (h.phase && h.phase !== prev.phase) {
      parts.push(`phase ${h.phase}`);
      change.phase = h.phase;
    }
    if (h.lr !== prev.lr) {
      parts.push(`lr ${prev.lr.toExponential(1)} → ${h.lr.toExponential(1)}`);
      change.lr = h.lr;
      change.prevLr = prev.lr;
    }
    if (parts.length) out.push({ ...change, text: parts.join(', ') });
  }
  return out;
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  confidence: number;
  accuracy: number;
}

/**
 * Calibration of softmax scores (rows of `classes` values): faces binned by the
 * top score; per bin the mean top score and the share of right answers. ECE is
 * the count-weighted mean gap between the two.
 */
export function reliability(
  scores: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  bins = 10,
): { bins: ReliabilityBin[]; ece: number } {
  const out: ReliabilityBin[] = Array.from({ length: bins }, (_, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: 0,
    confidence: 0,
    accuracy: 0,
  }));
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[i * classes + k] > scores[i * classes + best]) best = k;
    const conf = scores[i * classes + best];
    const bin = out[Math.min(bins - 1, Math.max(0, Math.floor(conf * bins)))];
    bin.count++;
    bin.confidence += conf;
    bin.accuracy += best === labels[i] ? 1 : 0;
  }
  let ece = 0;
  for (const b of out) {
    if (b.count) {
      b.confidence /= b.count;
      b.accuracy /= b.count;
    }
    ece += n ? (b.count / n) * Math.abs(b.accuracy - b.confidence) : 0;
  }
  return { bins: out, ece };
}
