/**
 * One optimisation step on a batch of faces, and the per-step dropout seeds
 * that keep runs repeatable.
 */
import { tf } from '../tf/backend.js';
import { facesToTensor } from '../inference/preprocess.js';
import type { InputSpec } from '../artifacts/card.js';
import { NUM_CLASSES } from '../types.js';
import type { TrainSettings } from './config.js';
import type { BatchMix } from './mix.js';

/**
 * TF.js's Dropout draws its mask from a generator seeded afresh with
 * `layer.seed` on every call, so a fixed seed gives every batch the same mask.
 * Each step gets its own seeds instead: masks vary, and runs still repeat exactly.
 */
export function reseedDropout(model: tf.LayersModel, seed: number, step: number): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed?: number }).seed = ((seed * 1_000_003) ^ (step * 7919 + i)) >>> 0;
  });
}

/** The loss settings of a training step. */
export interface LossSpec {
  smoothing: number;
  focalGamma: number;
}

export const lossOf = (s: Pick<TrainSettings, 'labelSmoothing' | 'loss' | 'focalGamma'>): LossSpec => ({
  smoothing: s.labelSmoothing,
  focalGamma: s.loss === 'focal' ? s.focalGamma : 0,
});

/**
 * One optimisation step on a batch; returns mean loss and the number correct. Exported for the tests and the benchmark.
 * The loss is cross-entropy against (smoothed) one-hot targets, times (1 - p)^gamma per class when focal (gamma > 0).
 * With `teacher` (n x 7 probabilities, teacher.ts) each face's target is `teacherWeight` of the teacher's row and the
 * rest of its smoothed label. With `mix` (the faces already mixed, mix.ts) each face's loss is `lam` of its own weighted loss and `1 - lam` of
 * its partner's, and a prediction counts as `lam` correct for the face's label and `1 - lam` for the partner's.
 */
export function trainStep(
  split: { bottom: tf.LayersModel | null; top: tf.LayersModel },
  opt: tf.Optimizer,
  faces: Float32Array,
  labels: Int32Array,
  spec: InputSpec,
  classW: number[],
  lossSpec: LossSpec,
  sourceBlur = 0,
  mix?: BatchMix,
  teacher?: { rows: Float32Array; weight: number },
): { loss: number; correct: number } {
  const { smoothing, focalGamma } = lossSpec;
  return tf.tidy(() => {
    const x = facesToTensor(faces, spec, sourceBlur);
    // The frozen part runs in inference mode, outside the gradient tape.
    const feats = split.bottom ? (split.bottom.apply(x, { training: false }) as tf.Tensor) : x;
    const y = tf.tensor1d(labels, 'int32');
    const oneHot = tf.oneHot(y, NUM_CLASSES).toFloat();
    const smoothed = smoothing > 0 ? tf.add(tf.mul(oneHot, 1 - smoothing), smoothing / NUM_CLASSES) : oneHot;
    const target = teacher
      ? tf.add(tf.mul(smoothed, 1 - teacher.weight), tf.mul(tf.tensor2d(teacher.rows, [labels.length, NUM_CLASSES]), teacher.weight))
      : smoothed;
    const w = tf.gather(tf.tensor1d(classW), y);
    const mixed = mix ? mixTargets(target, w, y, mix) : null;
    let correct: tf.Tensor | null = null;
    const varList = split.top.trainableWeights.map((v) => v.read() as tf.Variable);
    const lossT = opt.minimize(
      () => {
        const probs = split.top.apply(feats, { training: true }) as tf.Tensor;
        const hits = (labelsOf: tf.Tensor) => tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), labelsOf), 'float32'));
        correct = tf.keep(mixed ? tf.add(tf.mul(hits(y), mixed.lam), tf.mul(hits(mixed.partnerLabels), 1 - mixed.lam)) : hits(y));
        const p = tf.clipByValue(probs, 1e-7, 1);
        const logP = focalGamma > 0 ? tf.mul(tf.pow(tf.sub(1, p), focalGamma), tf.log(p)) : tf.log(p);
        let total = (
          mixed
            ? tf.div(tf.neg(tf.sum(tf.mul(mixed.target, logP))), labels.length)
            : tf.div(tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(target, logP), 1)), w)), labels.length)
        ) as tf.Scalar;
        for (const reg of split.top.calculateLosses()) total = tf.add(total, reg);
        return total;
      },
      true,
      varList,
    ) as tf.Scalar;
    const out = { loss: lossT.dataSync()[0], correct: (correct as unknown as tf.Tensor).dataSync()[0] };
    (correct as unknown as tf.Tensor).dispose();
    return out;
  });
}

/**
 * A mixed batch's weighted targets: `lam` of each face's own (class weight times target) and `1 - lam` of its
 * partner's. Cross-entropy is linear in its target, so its loss on them is the mix of the two faces' losses.
 */
function mixTargets(
  target: tf.Tensor,
  w: tf.Tensor,
  y: tf.Tensor,
  mix: BatchMix,
): { target: tf.Tensor; partnerLabels: tf.Tensor; lam: number } {
  const partner = tf.tensor1d(mix.partner, 'int32');
  const own = tf.mul(target, tf.expandDims(w, 1));
  return {
    target: tf.add(tf.mul(own, mix.lam), tf.mul(tf.gather(own, partner), 1 - mix.lam)),
    partnerLabels: tf.gather(y, partner),
    lam: mix.lam,
  };
}
