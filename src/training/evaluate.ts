/** Scoring a split with a model through the shared preprocessing; metrics. */
import { tf } from '../tf/backend.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { NUM_CLASSES } from '../types.js';
import type { EvalReport, InputSpec, SplitMetrics } from '../artifacts/card.js';
import { predictFaces, runWithViews } from '../inference/predict.js';
import { ttaOf, type TtaKind } from '../inference/tta.js';
import type { LoadedEnsemble, LoadedModel } from '../inference/registry.js';
import type { InferenceFn } from '../inference/fused-model.js';
import type { Split } from './dataset.js';
import { argmaxRows, confusionMatrix, metricsFromConfusion } from './metrics.js';

export interface ScoreOptions {
  /** Faces per step (their views may take several passes: predict.ts runWithViews). */
  batchSize?: number;
  /** Test-time augmentation: the views each face's scores are averaged over (default 'none'). */
  tta?: TtaKind;
  onBatch?: (done: number, total: number) => void;
}

/**
 * For a loaded model, which has a card: `tta` is a request's choice as the server reads it (ttaOf):
 * undefined the card's TTA, false none, true the card's or flip.
 */
export interface EntryScoreOptions extends Omit<ScoreOptions, 'tta'> {
  tta?: boolean;
}

/** A layers model, or a function that runs one (a loaded model's `run`). */
export type Scorer = tf.LayersModel | InferenceFn;

/** Softmax scores [n*7] of every face in `pixels` (n 48x48 faces). */
export async function scoreFaces(
  model: Scorer,
  spec: InputSpec,
  pixels: Uint8Array | Float32Array,
  options: ScoreOptions = {},
): Promise<Float32Array> {
  const { batchSize = 128, tta = 'none' } = options;
  const n = pixels.length / FACE_PIXELS;
  const out = new Float32Array(n * NUM_CLASSES);
  const run: InferenceFn = typeof model === 'function' ? model : (x) => model.predict(x) as tf.Tensor;
  for (let i = 0; i < n; i += batchSize) {
    const end = Math.min(n, i + batchSize);
    const batch = pixels.subarray(i * FACE_PIXELS, end * FACE_PIXELS);
    const scores = tf.tidy(() => runWithViews(run, batch, spec, tta));
    out.set((await scores.data()) as Float32Array, i * NUM_CLASSES);
    scores.dispose();
    options.onBatch?.(end, n);
  }
  return out;
}

/** Mean cross-entropy of scores against labels. */
export function crossEntropy(scores: Float32Array, labels: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(scores[i * NUM_CLASSES + labels[i]], 1e-7));
  return s / labels.length;
}

/**
 * An ensemble's scores, in batches through predictFaces: exactly what the server answers per request (the mean of
 * its members' probabilities, each with its card's temperature, and its card's TTA unless `options.tta` says otherwise).
 */
export async function scoreEnsemble(entry: LoadedEnsemble, pixels: Uint8Array, options: EntryScoreOptions = {}): Promise<Float32Array> {
  const { batchSize = 128 } = options;
  const n = pixels.length / FACE_PIXELS;
  const out = new Float32Array(n * NUM_CLASSES);
  for (let i = 0; i < n; i += batchSize) {
    const end = Math.min(n, i + batchSize);
    const rows = predictFaces(entry, pixels.subarray(i * FACE_PIXELS, end * FACE_PIXELS), { tta: options.tta });
    rows.forEach((row, j) => out.set(row, (i + j) * NUM_CLASSES));
    options.onBatch?.(end, n);
  }
  return out;
}

export type SplitEvaluation = Omit<EvalReport, 'model' | 'usage'> & { loss: number; predicted: Uint8Array; scores: Float32Array };

/** The figures a card or a report keeps of an evaluation. */
export function splitMetrics(r: SplitMetrics): SplitMetrics {
  return { n: r.n, accuracy: r.accuracy, macro_f1: r.macro_f1, per_class: r.per_class, confusion: r.confusion };
}

export async function evaluateSplit(model: Scorer, spec: InputSpec, split: Split, options: ScoreOptions = {}): Promise<SplitEvaluation> {
  return evaluateScores(await scoreFaces(model, spec, split.pixels, options), split);
}

/**
 * A loaded model (network or ensemble) on a split, as the demo serves it: the card's TTA unless `options.tta`
 * says otherwise (ttaOf). A network's scores are its raw outputs (calibration leaves a view's top class alone;
 * under TTA the temperature could move the top class of a close average, which the figures leave out, as the
 * TTA choice does); an ensemble averages its members' calibrated ones, which is what it is.
 */
export async function evaluateEntry(entry: LoadedModel, split: Split, options: EntryScoreOptions = {}): Promise<SplitEvaluation> {
  return evaluateScores(await scoreEntry(entry, split.pixels, options), split);
}

/** A loaded model's probabilities for `pixels` as it is served: an ensemble's mean of its members, a network with its card's TTA. */
export async function scoreEntry(entry: LoadedModel, pixels: Uint8Array, options: EntryScoreOptions = {}): Promise<Float32Array> {
  if (entry.kind === 'ensemble') return scoreEnsemble(entry, pixels, options);
  return scoreFaces(entry.run, entry.card.input, pixels, { ...options, tta: ttaOf(entry.card.tta, options.tta) });
}

function evaluateScores(scores: Float32Array, split: Split): SplitEvaluation {
  const predicted = argmaxRows(scores);
  return { ...metricsFromConfusion(confusionMatrix(split.labels, predicted)), loss: crossEntropy(scores, split.labels), predicted, scores };
}
