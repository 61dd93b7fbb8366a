/**
 * Knowledge distillation: the teacher's rows are its answers as served (shipped model folders,
 * a network and the ensemble), and a step's loss on a blended target is the blend of the two
 * targets' losses.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { teacherTargets } from '../../src/training/teacher.js';
import { makeSplit } from '../../src/training/dataset.js';
import { loadModelEntry, disposeStandaloneEntry } from '../../src/inference/registry.js';
import { predictFaces } from '../../src/inference/predict.js';
import { trainStep } from '../../src/training/step.js';
import { buildCustomCnn, cnnInput } from '../../src/training/architectures/custom-cnn.js';
import { mulberry32 } from '../../src/training/random.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';
import { NUM_CLASSES } from '../../src/types.js';

const MODELS = path.resolve(import.meta.dirname, '..', '..', 'models');

function randomPixels(count: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  return Uint8Array.from({ length: count * FACE_PIXELS }, () => Math.floor(rng() * 256));
}

before(async () => {
  await initBackend('wasm');
});

describe('teacherTargets', () => {
  for (const name of ['custom-cnn', 'ensemble']) {
    test(`${name}: one row per face, the model's served answer, and nothing left loaded`, async () => {
      // More faces than one teacher pass holds, so the chunks' seams are checked too.
      const count = 300;
      const split = makeSplit(randomPixels(count, 7), new Uint8Array(count));
      const tensorsBefore = tf.memory().numTensors;
      const rows = await teacherTargets(path.join(MODELS, name), split, () => {});
      assert.equal(tf.memory().numTensors, tensorsBefore, 'the teacher is disposed after scoring');
      assert.equal(rows.length, count * NUM_CLASSES);
      const entry = await loadModelEntry(path.join(MODELS, name));
      try {
        for (const i of [0, 255, 256, count - 1]) {
          const [want] = predictFaces(entry, split.pixels.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS));
          const got = rows.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
          for (let k = 0; k < NUM_CLASSES; k++)
            assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `face ${i} class ${k}: ${got[k]} vs ${want[k]}`);
          assert.ok(Math.abs(got.reduce((a, b) => a + b, 0) - 1) < 1e-4);
        }
      } finally {
        disposeStandaloneEntry(entry);
      }
    });
  }

  test('a folder that is not a model is a clear error naming the option', async () => {
    const split = makeSplit(randomPixels(2, 1), new Uint8Array(2));
    await assert.rejects(
      teacherTargets(path.join(MODELS, 'no-such-model'), split, () => {}),
      /^Error: --teacher .*no-such-model/,
    );
  });
});

describe('trainStep with a teacher', () => {
  test("the loss is the teacher's share of the loss on its rows and the rest of the loss on the labels", () => {
    const spec = cnnInput(16);
    const model = buildCustomCnn({ inputSize: 16, widths: [4, 8], convsPerBlock: [1, 1], dense: 8, seed: 5 });
    const opt = tf.train.sgd(0); // the weights stay as they are, so every step sees the same network
    const count = 8;
    const faces = Float32Array.from(randomPixels(count, 4));
    const labels = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 3]);
    // Uniform class weights: a blended target carries its face's own label's weight.
    const classW = new Array<number>(NUM_CLASSES).fill(1);
    const split = { bottom: null, top: model };
    const smoothing = { smoothing: 0.1, focalGamma: 0 };
    // The teacher says each face is another class, with certainty.
    const other = Int32Array.from(labels, (y) => (y + 2) % NUM_CLASSES);
    const rows = new Float32Array(count * NUM_CLASSES);
    other.forEach((y, i) => (rows[i * NUM_CLASSES + y] = 1));
    const weight = 0.3;
    const blended = trainStep(split, opt, faces, labels, spec, classW, smoothing, 0, undefined, { rows, weight });
    const own = trainStep(split, opt, faces, labels, spec, classW, smoothing);
    const teachers = trainStep(split, opt, faces, other, spec, classW, { smoothing: 0, focalGamma: 0 });
    opt.dispose();
    model.dispose();
    const want = (1 - weight) * own.loss + weight * teachers.loss;
    assert.ok(Math.abs(blended.loss - want) < 1e-4, `${blended.loss} vs ${want} (own ${own.loss}, teacher ${teachers.loss})`);
    assert.notEqual(own.loss.toFixed(4), teachers.loss.toFixed(4), 'the two targets must give different losses');
    assert.equal(blended.correct, own.correct, 'accuracy is still counted against the labels');
  });
});
