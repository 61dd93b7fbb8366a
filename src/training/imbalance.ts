/**
 * The three remedies for FER2013's rare classes (disgust has 436 training faces,
 * happy 7,215) that `npm run train` can switch on, so their effect can be
 * measured one at a time: class weights in the loss, oversampling of rare
 * classes when an epoch's order is drawn, and focal loss.
 */
import { NUM_CLASSES } from '../types.js';
import { classCounts, type Split } from './dataset.js';
import { mulberry32, shuffleInPlace } from './random.js';

/** none: as counted; sqrt: weight or sample by 1/sqrt(frequency); balanced: by 1/frequency. */
export type Rebalance = 'none' | 'balanced' | 'sqrt';

/** Per-class factor 1/frequency (balanced) or its square root, normalised to average 1 per training image. */
export function classWeights(train: Split, mode: Rebalance): number[] {
  const counts = classCounts(train);
  const n = train.size;
  if (mode === 'none') return counts.map(() => 1);
  if (mode !== 'balanced' && mode !== 'sqrt') throw new Error(`unknown class rebalancing "${String(mode)}" (none, sqrt or balanced)`);
  const raw = counts.map((c) => (c ? n / (NUM_CLASSES * c) : 0));
  const w = mode === 'sqrt' ? raw.map(Math.sqrt) : raw;
  const mean = w.reduce((s, x, i) => s + x * counts[i], 0) / n;
  return w.map((x) => x / mean);
}

/**
 * The order of one epoch: a seeded shuffle of all rows (none), or, when
 * oversampling, `size` rows drawn with replacement so each class is drawn in
 * proportion to count x weight (sqrt: rare classes about twice as often as
 * as counted; balanced: every class equally). Depends only on (seed, epoch),
 * so a resumed run draws the same order.
 */
export function epochOrder(train: Split, mode: Rebalance, seed: number, epoch: number): Uint32Array {
  const n = train.size;
  const rng = mulberry32(seed * 7919 + epoch);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  if (mode === 'none') {
    shuffleInPlace(order, rng);
    return order;
  }
  const w = classWeights(train, mode);
  // Cumulative per-row probability; a binary search draws each row.
  const cum = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += w[train.labels[i]];
    cum[i] = acc;
  }
  for (let k = 0; k < n; k++) {
    const r = rng() * acc;
    let lo = 0,
      hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    order[k] = lo;
  }
  return order;
}
