/**
 * The TTA choice (training/choose-tta.ts): the mirror is served only when it adds at least
 * TTA_MIN_GAIN accuracy, and the card's metrics are then those of the model as served. A
 * hand-built network that looks only at which half of the face is brighter makes the mirror
 * decisive either way.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';
import { makeSplit } from '../../src/training/dataset.js';
import { chooseTta, describeTtaChoice } from '../../src/training/choose-tta.js';
import { TTA_MIN_GAIN } from '../../src/training/config.js';
import type { InputSpec } from '../../src/artifacts/card.js';
import { testCard } from '../helpers/models.js';

const SIDE = 48;
const spec: InputSpec = { size: SIDE, channels: 1, normalisation: 'unit' };

before(async () => {
  await initBackend('wasm');
});

/**
 * Softmax over: class 0 when the left half is brighter, class 1 when the right is, class 2 a
 * constant just below them. A face scores class 0 or 1 alone; averaged with its mirror, 0 and 1
 * share their probability and class 2 wins.
 */
function halvesModel(): tf.LayersModel {
  const kernel = new Float32Array(SIDE * SIDE * 7);
  const bias = new Float32Array([0, 0, 2.8, -10, -10, -10, -10]);
  // A face of 200 | 50 differs by (200 - 50) / 255 per pixel: logits +-3 for classes 0 and 1.
  const a = 3 / ((SIDE * SIDE) / 2) / (150 / 255);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const sign = x < SIDE / 2 ? 1 : -1;
      kernel[(y * SIDE + x) * 7 + 0] = sign * a;
      kernel[(y * SIDE + x) * 7 + 1] = -sign * a;
    }
  }
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [SIDE, SIDE, 1] }));
  model.add(tf.layers.dense({ units: 7, activation: 'softmax', weights: [tf.tensor2d(kernel, [SIDE * SIDE, 7]), tf.tensor1d(bias)] }));
  return model;
}

/** n faces, alternately brighter on the left and on the right. */
function halfFaces(n: number): Uint8Array {
  const out = new Uint8Array(n * FACE_PIXELS);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < FACE_PIXELS; p++) {
      const left = p % 48 < 24;
      out[i * FACE_PIXELS + p] = left === (i % 2 === 0) ? 200 : 50;
    }
  }
  return out;
}

describe('choosing flip TTA', () => {
  const n = 20;
  const pixels = halfFaces(n);

  test('served with the mirror when it helps: tta flip, metrics as served, both figures kept', async () => {
    const model = halvesModel();
    const card = await chooseTta(model, testCard('halves', 0, { input: spec }), makeSplit(pixels, new Uint8Array(n).fill(2)), 'PublicTest');
    assert.equal(card.tta, 'flip');
    assert.equal(card.metrics.PublicTest!.accuracy, 1);
    assert.equal(card.metrics.PublicTest!.confusion[2][2], n);
    assert.deepEqual(card.tta_choice, {
      split: 'PublicTest',
      min_gain: TTA_MIN_GAIN,
      none: { accuracy: 0, macro_f1: 0 },
      // One class present: its F1 of 1 and six of 0 (rounded to 4 digits on the card).
      flip: { accuracy: 1, macro_f1: 0.1429 },
    });
    assert.match(describeTtaChoice(card), /0\.0000 -> 1\.0000 \(\+100\.00 points; bar 0\.5\): served with the mirror/);
    model.dispose();
  });

  test('served without it when it hurts: tta none, metrics without the mirror', async () => {
    const model = halvesModel();
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
    const card = await chooseTta(model, testCard('halves', 0, { input: spec, tta: 'flip' }), makeSplit(pixels, labels), 'validation');
    assert.equal(card.tta, 'none');
    assert.equal(card.metrics.validation!.accuracy, 1);
    assert.equal(card.tta_choice.flip.accuracy, 0);
    assert.equal(card.tta_choice.split, 'validation');
    // The other split's figures are left as they were.
    assert.equal(card.metrics.PublicTest!.accuracy, 0);
    assert.match(describeTtaChoice(card), /served without it/);
    model.dispose();
  });
});
