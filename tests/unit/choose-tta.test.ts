/**
 * The TTA choice (training/choose-tta.ts): none, flip and shift are measured, and the choice climbs
 * none -> flip -> shift one step at a time, a step taken only when it adds at least TTA_MIN_GAIN
 * accuracy over the current choice; the card's metrics are then those of the model as served. A
 * hand-built network makes each kind decisive: it looks at which half of the face is brighter (the
 * mirror undoes that, moving by 2 pixels does not) and at two small bright spots (symmetric, so the
 * mirror leaves them where they are, but any 2-pixel move takes them off the pixels it looks at).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { initBackend, tf } from '../../src/tf/backend.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';
import { makeSplit } from '../../src/training/dataset.js';
import { chooseTta, describeTtaChoice } from '../../src/training/choose-tta.js';
import { TTA_MIN_GAIN } from '../../src/training/config.js';
import { readCard, type InputSpec } from '../../src/artifacts/card.js';
import { saveModelFolder } from '../../src/artifacts/model-folder.js';
import { testCard } from '../helpers/models.js';
import { toCsv } from '../helpers/synthetic-fer.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

const SIDE = 48;
const spec: InputSpec = { size: SIDE, channels: 1, normalisation: 'unit' };

before(async () => {
  await initBackend('wasm');
});

/**
 * Softmax over:
 * - halves: class 0 when the left half is brighter, class 1 when the right is, class 2 a constant just
 *   below them. A face scores class 0 or 1 alone; averaged with its mirror, 0 and 1 share their
 *   probability and class 2 wins. The views of shift come in mirror pairs too, so it wins there as well.
 * - spots: class 0 strongly when row 24 is bright at columns 5-6 and 41-42 and dark at 3, 8, 39 and 44
 *   (a symmetric pattern: the mirror sees it too). A face with those spots on black scores class 0 alone
 *   and with its mirror; eight of shift's ten views move the spots off, and class 2 wins the average.
 * On a halves face the spot weights cancel (all eight pixels lie in one flat half, in every view), and on
 * a spot face the halves weights cancel (the spots are symmetric), so each kind of face meets one feature.
 */
function probeModel(): tf.LayersModel {
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
  // Spots: +2.5 per bright spot pixel (logit 10 with all four), -2.5 per pixel beside them.
  for (const x of SPOTS) kernel[(SPOT_ROW * SIDE + x) * 7] += 2.5;
  for (const x of BESIDE_SPOTS) kernel[(SPOT_ROW * SIDE + x) * 7] -= 2.5;
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [SIDE, SIDE, 1] }));
  model.add(tf.layers.dense({ units: 7, activation: 'softmax', weights: [tf.tensor2d(kernel, [SIDE * SIDE, 7]), tf.tensor1d(bias)] }));
  return model;
}

const SPOT_ROW = 24;
const SPOTS = [5, 6, 41, 42];
const BESIDE_SPOTS = [3, 8, 39, 44];

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

/** n black faces with the four bright spots. */
function spotFaces(n: number): Uint8Array {
  const out = new Uint8Array(n * FACE_PIXELS);
  for (let i = 0; i < n; i++) for (const x of SPOTS) out[i * FACE_PIXELS + SPOT_ROW * SIDE + x] = 255;
  return out;
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** One class present: its F1 of 1 and six of 0, rounded to 4 digits on the card. */
const ALL_RIGHT = { accuracy: 1, macro_f1: 0.1429 };
const NONE_RIGHT = { accuracy: 0, macro_f1: 0 };

describe('choosing the TTA', () => {
  const n = 20;
  let model: tf.LayersModel;
  before(() => {
    model = probeModel();
  });
  after(() => model.dispose());

  test('flip when it helps and shift adds nothing over it: tta flip, metrics as served, all three figures kept', async () => {
    const card = await chooseTta(
      model,
      testCard('halves', 0, { input: spec }),
      makeSplit(halfFaces(n), new Uint8Array(n).fill(2)),
      'PublicTest',
    );
    assert.equal(card.tta, 'flip');
    assert.equal(card.metrics.PublicTest!.accuracy, 1);
    assert.equal(card.metrics.PublicTest!.confusion[2][2], n);
    // Shift is right on every face too, 100 points over none, but it must beat flip, the choice by then.
    assert.deepEqual(card.tta_choice, { split: 'PublicTest', min_gain: TTA_MIN_GAIN, none: NONE_RIGHT, flip: ALL_RIGHT, shift: ALL_RIGHT });
    assert.equal(
      describeTtaChoice(card),
      'halves: TTA on PublicTest, accuracy none 0.0000, flip 1.0000 (+100.00 over none), shift 1.0000 (+0.00 over flip); ' +
        'bar 0.5 points: served with flip TTA',
    );
  });

  test('none when the views hurt: tta none, metrics without TTA', async () => {
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
    const card = await chooseTta(model, testCard('halves', 0, { input: spec, tta: 'flip' }), makeSplit(halfFaces(n), labels), 'validation');
    assert.equal(card.tta, 'none');
    assert.equal(card.metrics.validation!.accuracy, 1);
    assert.equal(card.tta_choice.flip.accuracy, 0);
    assert.equal(card.tta_choice.shift!.accuracy, 0);
    assert.equal(card.tta_choice.split, 'validation');
    // The other split's figures are left as they were.
    assert.equal(card.metrics.PublicTest!.accuracy, 0);
    assert.match(
      describeTtaChoice(card),
      /flip 0\.0000 \(-100\.00 over none\), shift 0\.0000 \(-100\.00 over none\); .*: served without TTA$/,
    );
  });

  test('shift when it helps and flip does not: the climb stays at none for flip, then steps to shift', async () => {
    const card = await chooseTta(
      model,
      testCard('spots', 0, { input: spec }),
      makeSplit(spotFaces(n), new Uint8Array(n).fill(2)),
      'PublicTest',
    );
    assert.deepEqual(card.tta_choice, {
      split: 'PublicTest',
      min_gain: TTA_MIN_GAIN,
      none: NONE_RIGHT,
      flip: NONE_RIGHT,
      shift: ALL_RIGHT,
    });
    assert.equal(card.tta, 'shift');
    assert.equal(card.metrics.PublicTest!.accuracy, 1);
    assert.equal(card.metrics.PublicTest!.confusion[2][2], n);
    assert.match(
      describeTtaChoice(card),
      /flip 0\.0000 \(\+0\.00 over none\), shift 1\.0000 \(\+100\.00 over none\); .*: served with shift TTA \(10 views\)$/,
    );
  });

  test('shift over flip: flip helps on half the faces, shift on all of them; metrics are those of shift', async () => {
    const pixels = concat(halfFaces(n / 2), spotFaces(n / 2));
    const card = await chooseTta(model, testCard('both', 0, { input: spec }), makeSplit(pixels, new Uint8Array(n).fill(2)), 'PublicTest');
    assert.equal(card.tta_choice.none.accuracy, 0);
    assert.equal(card.tta_choice.flip.accuracy, 0.5);
    assert.equal(card.tta_choice.shift!.accuracy, 1);
    assert.equal(card.tta, 'shift');
    assert.equal(card.metrics.PublicTest!.accuracy, 1);
    assert.match(describeTtaChoice(card), /flip 0\.5000 \(\+50\.00 over none\), shift 1\.0000 \(\+50\.00 over flip\)/);
  });

  test('a gain just under the bar is no step; exactly the bar is', async () => {
    // Flip is right on the halves faces only, shift on every face.
    const labelsTwo = (count: number) => new Uint8Array(count).fill(2);
    const measure = async (halves: number, total: number) => {
      const pixels = concat(halfFaces(halves), spotFaces(total - halves));
      return chooseTta(model, testCard('bar', 0, { input: spec }), makeSplit(pixels, labelsTwo(total)), 'PublicTest');
    };
    // 1 of 200 right with flip: +0.5 points, exactly the bar (and shift then +99.5 over flip).
    const exactly = await measure(1, 200);
    assert.equal(exactly.tta_choice.flip.accuracy, TTA_MIN_GAIN);
    assert.equal(exactly.tta_choice.shift!.accuracy, 1);
    assert.equal(exactly.tta, 'shift');
    // 1 of 203 right with flip (0.0049 on the card, whose figures the choice is made from): under the bar,
    // so flip is no step, and shift is weighed against none.
    const under = await measure(1, 203);
    assert.equal(under.tta_choice.flip.accuracy, 0.0049);
    assert.equal(under.tta, 'shift');
    assert.match(describeTtaChoice(under), /over none\), shift 1\.0000 \(\+100\.00 over none\)/);
  });
});

describe('npm run choose-tta', () => {
  test("chooses a saved model folder's TTA on PublicTest and rewrites its card (--dry-run leaves it)", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-choose-tta-'));
    try {
      const folder = path.join(dir, 'spots');
      const model = probeModel();
      await saveModelFolder(folder, model, { 'card.json': JSON.stringify(testCard('spots', 0, { input: spec, tta: 'flip' })) });
      model.dispose();
      const n = 14;
      const csv = path.join(dir, 'fer.csv');
      await fs.writeFile(csv, toCsv({ PublicTest: { pixels: spotFaces(n), labels: new Uint8Array(n).fill(2) } }));
      const cli = (...extra: string[]) =>
        run(
          process.execPath,
          ['--import', 'tsx', 'src/cli/choose-tta.ts', '--model', folder, '--data', csv, '--backend', 'wasm', ...extra],
          {
            cwd: ROOT,
          },
        );

      const dry = await cli('--dry-run');
      assert.match(
        dry.stdout,
        /^spots: TTA on PublicTest, accuracy none 0\.0000, flip 0\.0000 .*shift 1\.0000 .*served with shift TTA \(10 views\)$/m,
      );
      assert.match(dry.stdout, /dry run: card\.json not written/);
      assert.equal((await readCard(folder)).tta, 'flip');

      const wrote = await cli();
      assert.match(wrote.stdout, /served with shift TTA \(10 views\)/);
      const card = await readCard(folder);
      assert.equal(card.tta, 'shift');
      assert.deepEqual(card.tta_choice, {
        split: 'PublicTest',
        min_gain: TTA_MIN_GAIN,
        none: NONE_RIGHT,
        flip: NONE_RIGHT,
        shift: ALL_RIGHT,
      });
      assert.equal(card.metrics.PublicTest!.n, n);
      assert.equal(card.metrics.PublicTest!.accuracy, 1);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
