/**
 * When the page should not give a bold verdict: the top score is low, or the
 * runner-up is close behind. With calibrated scores (inference/calibration.ts)
 * "low" means the model really is right that rarely.
 */
import type { Scores } from '../../inference/predict.js';
import { LABELS, type Label } from '../../types.js';

/** Below this top score the model is not sure. */
export const UNSURE_TOP = 0.4;
/** Closer than this between the two best scores, the model cannot tell them apart. */
export const UNSURE_GAP = 0.1;

export interface Certainty {
  unsure: boolean;
  best: Label;
  runnerUp: Label;
}

export function certainty(scores: Scores): Certainty {
  const [best, runnerUp] = [...LABELS].sort((a, b) => scores[b] - scores[a]);
  const unsure = scores[best] < UNSURE_TOP || scores[best] - scores[runnerUp] < UNSURE_GAP;
  return { unsure, best, runnerUp };
}
