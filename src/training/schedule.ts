/**
 * The optimizer and its learning rate: Adam or SGD with Nesterov momentum,
 * and the cosine schedule in cycles with warm restarts.
 */
import { tf } from '../tf/backend.js';
import type { Phase } from './architectures/index.js';
import type { TrainSettings } from './config.js';

export function makeOptimizer(s: TrainSettings, lr: number): tf.Optimizer {
  return s.optimizer === 'sgd' ? tf.train.momentum(lr, s.momentum, true) : tf.train.adam(lr);
}

export function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // Both optimizers read this field on every step.
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

/** Half a cosine from `base` (progress 0) down to `min` (progress 1). */
export function cosineLr(base: number, min: number, progress: number): number {
  const t = Math.min(1, Math.max(0, progress));
  return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** The first epoch of `phase` and the length of its cosine cycles (the whole phase when `cycle` is 0 or longer). */
export function cycleOf(phases: Phase[], phase: Phase, cycle: number): { first: number; length: number } {
  const i = phases.indexOf(phase);
  const first = i > 0 ? phases[i - 1].lastEpoch + 1 : 1;
  const span = phase.lastEpoch - first + 1;
  return { first, length: cycle > 0 && cycle < span ? cycle : span };
}

/** How far into its cosine cycle training is (0..1) at `epoch` (1-based) plus a fraction of it. */
export function cycleProgress(phases: Phase[], phase: Phase, cycle: number, epoch: number, fraction: number): number {
  const { first, length } = cycleOf(phases, phase, cycle);
  return (((epoch - first) % length) + fraction) / length;
}
