/**
 * Faces -> class probabilities with one loaded model. Every tensor lives
 * inside tf.tidy, so a request leaves the tensor count where it found it.
 * The card's temperature (calibration.ts) is applied here, the one place
 * every prediction passes through, to each view before the test-time
 * augmentation's average (tta.ts; it was fitted on single views). An
 * ensemble averages its members' answers, each as that member serves it (its
 * own TTA and temperature).
 */
import { tf } from '../tf/backend.js';
import { FACE_SIZE, LABELS, type Label } from '../types.js';
import { FACE_PIXELS, facesToTensor } from './preprocess.js';
import { temperatureOf } from './calibration.js';
import { ttaOf, ttaViews, viewCount, type TtaKind } from './tta.js';
import type { InputSpec, ModelCard } from '../artifacts/card.js';
import type { InferenceFn } from './fused-model.js';

/**
 * What a prediction reads of a network: the registry's LoadedNetwork has it, and so do the
 * networks private mode builds in the browser from the manifest (browser/pipeline.ts).
 */
export interface PredictableNetwork {
  kind: 'network';
  card: Pick<ModelCard, 'input' | 'tta' | 'calibration'>;
  run: InferenceFn;
  /** False when the last layer gives logits; softmax is applied here then. */
  outputsProbabilities: boolean;
}

/** An ensemble: its members' answers averaged. */
export interface PredictableEnsemble {
  kind: 'ensemble';
  members: PredictableNetwork[];
}

/** A registry LoadedModel, or private mode's equivalent. */
export type Predictable = PredictableNetwork | PredictableEnsemble;

export type Scores = Record<Label, number>;

export interface PredictOptions {
  /**
   * A request's TTA choice (tta.ts ttaOf): true the card's views (flip if the card has none), false the
   * face alone; default: what the model's card asks for.
   */
  tta?: boolean;
}

/** Runs the model on `faces` (n x 48x48 grey, 0-255) and returns n rows of 7 probabilities. */
export function predictFaces(entry: Predictable, faces: Uint8Array, options: PredictOptions = {}): Float32Array[] {
  const n = faces.length / (FACE_SIZE * FACE_SIZE);
  if (n === 0) return [];
  if (entry.kind === 'ensemble') return averageRows(entry.members.map((m) => predictNetwork(m, faces, n, options)));
  return predictNetwork(entry, faces, n, options);
}

/** Row-wise mean of several models' probability rows for the same faces. */
export function averageRows(perModel: Float32Array[][]): Float32Array[] {
  return perModel[0].map((_, i) => {
    const mean = new Float32Array(LABELS.length);
    for (const rows of perModel) for (let k = 0; k < mean.length; k++) mean[k] += rows[i][k] / perModel.length;
    return mean;
  });
}

function predictNetwork(entry: PredictableNetwork, faces: Uint8Array, n: number, options: PredictOptions): Float32Array[] {
  const spec = entry.card.input;
  const temperature = temperatureOf(entry.card);
  const probs = tf.tidy(() => {
    const run = (x: tf.Tensor4D): tf.Tensor => {
      const y = entry.run(x) as tf.Tensor2D;
      // softmax(log(p) / T) = softmax(logits / T): the same for either kind of output.
      if (temperature !== 1)
        return tf.softmax(tf.div(entry.outputsProbabilities ? tf.log(tf.maximum(y, 1e-12)) : y, temperature)) as tf.Tensor2D;
      return entry.outputsProbabilities ? y : tf.softmax(y);
    };
    // Test-time augmentation (the card's, unless the request says otherwise): the mean over the views.
    return runWithViews(run, faces, spec, ttaOf(entry.card.tta, options.tta));
  });
  try {
    const flat = probs.dataSync() as Float32Array;
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) rows.push(flat.slice(i * LABELS.length, (i + 1) * LABELS.length));
    return rows;
  } finally {
    probs.dispose();
  }
}

/**
 * Views in one forward pass at most (tta.ts): 256 faces and their mirrors, the largest pass flip TTA
 * made, so ten views per face take no more memory than two did (a 96x96 MobileNetV2 batch of
 * thousands would not fit in the wasm heap).
 */
const MAX_VIEWS_PER_PASS = 512;

/**
 * `run` on the faces' views for `kind` (tta.ts), each face's answers averaged over its views. The views
 * of a face go through in one batch: for the one or few faces of a request that costs much less than
 * a pass per view (the per-layer overhead is paid once). Call inside tf.tidy.
 */
export function runWithViews(
  run: (x: tf.Tensor4D) => tf.Tensor,
  faces: Uint8Array | Float32Array,
  spec: InputSpec,
  kind: TtaKind,
): tf.Tensor {
  const views = viewCount(kind);
  if (views === 1) return run(facesToTensor(faces, spec));
  const n = faces.length / FACE_PIXELS;
  const perPass = Math.max(1, Math.floor(MAX_VIEWS_PER_PASS / views));
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < n; i += perPass) {
    const m = Math.min(perPass, n - i);
    const chunk = faces.subarray(i * FACE_PIXELS, (i + m) * FACE_PIXELS);
    // Its own tidy: a pass's activations are freed before the next pass.
    parts.push(tf.tidy(() => tf.mean(tf.reshape(run(facesToTensor(ttaViews(chunk, kind), spec)), [views, m, -1]), 0)));
  }
  return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
}

/** A probability row as a label -> probability object in FER2013 order. */
export function toScores(row: Float32Array): Scores {
  const scores = {} as Scores;
  LABELS.forEach((label, i) => {
    scores[label] = row[i];
  });
  return scores;
}

/** The most probable label of a row. */
export function topLabel(row: Float32Array): Label {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return LABELS[best];
}
