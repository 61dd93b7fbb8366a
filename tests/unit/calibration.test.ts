/**
 * Calibrated confidence: the temperature fit, where it is applied, the card
 * field, the figures `npm run compare` reports, and the page's "not sure".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyTemperature, temperatureOf } from '../../src/inference/calibration.js';
import { predictFaces, toScores } from '../../src/inference/predict.js';
import { disposeEntry, loadModelEntry } from '../../src/inference/registry.js';
import { calibrationOf } from '../../src/compare/compare.js';
import { certainty } from '../../src/server/present/prediction.js';
import { majorityOf } from '../../src/server/present/side-by-side-view.js';
import { calibrateFolder } from '../../src/training/calibrate-folder.js';
import { writeCard } from '../../src/artifacts/card.js';
import { expectedCalibrationError, fitTemperature, reliability } from '../../src/training/calibration.js';
import { makeSplit } from '../../src/training/dataset.js';
import { readCard } from '../../src/artifacts/card.js';
import { initBackend } from '../../src/tf/backend.js';
import { FACE_SIZE, LABELS, NUM_CLASSES } from '../../src/types.js';
import { saveTinyModel, testCard } from '../helpers/models.js';

/** A seeded generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Rows whose labels are drawn from softmax(z), reported as softmax(z * sharpen):
 * an over-confident model when sharpen > 1, whose right temperature is `sharpen`.
 */
function syntheticScores(n: number, sharpen: number, seed = 1): { probs: Float32Array; labels: Uint8Array } {
  const r = rng(seed);
  const probs = new Float32Array(n * NUM_CLASSES);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: NUM_CLASSES }, () => r() * 3);
    const softmax = (k: number) => {
      const e = z.map((v) => Math.exp(v * k));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const truth = softmax(1);
    let u = r();
    let label = 0;
    while (label < NUM_CLASSES - 1 && u > truth[label]) {
      u -= truth[label];
      label++;
    }
    labels[i] = label;
    probs.set(softmax(sharpen), i * NUM_CLASSES);
  }
  return { probs, labels };
}

describe('temperature scaling', () => {
  test('an over-confident model gets its temperature back, and its ECE drops below 0.05', () => {
    const { probs, labels } = syntheticScores(4000, 3);
    const fit = fitTemperature(probs, labels);
    assert.ok(Math.abs(fit.temperature - 3) < 0.4, `temperature ${fit.temperature}`);
    assert.ok(fit.nll_after < fit.nll_before);
    assert.ok(fit.ece_before > 0.1, `over-confident before: ECE ${fit.ece_before}`);
    assert.ok(fit.ece_after < 0.05, `ECE after ${fit.ece_after}`);
    // A model that is already calibrated keeps a temperature near 1.
    const honest = syntheticScores(4000, 1, 2);
    assert.ok(Math.abs(fitTemperature(honest.probs, honest.labels).temperature - 1) < 0.15);
  });

  test('a temperature keeps every answer and every row sums to 1', () => {
    const { probs } = syntheticScores(50, 2);
    const warmer = applyTemperature(Float32Array.from(probs), 2.5);
    for (let i = 0; i < 50; i++) {
      const row = (p: Float32Array) => Array.from(p.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES));
      const a = row(probs);
      const b = row(warmer);
      assert.equal(b.indexOf(Math.max(...b)), a.indexOf(Math.max(...a)), 'same top class');
      assert.ok(Math.abs(b.reduce((x, y) => x + y, 0) - 1) < 1e-5);
      assert.ok(Math.max(...b) <= Math.max(...a) + 1e-6, 'T > 1 softens');
    }
    assert.equal(applyTemperature(probs, 1), probs, 'T = 1 leaves the scores alone');
    assert.equal(temperatureOf({}), 1);
    assert.equal(temperatureOf({ calibration: { temperature: 1.7, ece_before: 0, ece_after: 0, fitted_on: 'x' } }), 1.7);
  });

  test('ECE and the reliability bins', () => {
    // Four faces, all scored 0.95 for class 0; three are right: ECE = |0.95 - 0.75|.
    const probs = new Float32Array(4 * NUM_CLASSES);
    for (let i = 0; i < 4; i++) {
      probs.fill(0.05 / 6, i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
      probs[i * NUM_CLASSES] = 0.95;
    }
    const labels = Uint8Array.from([0, 0, 0, 3]);
    assert.ok(Math.abs(expectedCalibrationError(probs, labels) - 0.2) < 1e-6);
    const bins = reliability(probs, labels, 10);
    assert.equal(bins.length, 10);
    assert.equal(bins[9].count, 4);
    assert.ok(Math.abs(bins[9].accuracy! - 0.75) < 1e-9);
    assert.equal(bins[0].accuracy, null, 'an empty bin has no accuracy');
    // What compare reports: before only without a card temperature, before and after with one.
    assert.equal(calibrationOf(probs, labels, null).ece_after, null);
    const withT = calibrationOf(
      probs,
      labels,
      testCard('t', 0.5, { calibration: { temperature: 2, ece_before: 0, ece_after: 0, fitted_on: 'rows' } }),
    );
    assert.equal(withT.temperature, 2);
    assert.notEqual(withT.ece_after, null);
  });
});

describe('a model folder with a temperature', () => {
  let dir: string;
  before(async () => {
    await initBackend();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-calib-'));
    await saveTinyModel(dir, testCard('tiny', 0.5), 3);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test("npm run calibrate's fit is written into card.json, and every prediction then uses it", async () => {
    const folder = path.join(dir, 'tiny');
    const r = rng(9);
    const n = 200;
    const pixels = Uint8Array.from({ length: n * FACE_SIZE * FACE_SIZE }, () => Math.floor(r() * 256));
    const labels = Uint8Array.from({ length: n }, () => Math.floor(r() * NUM_CLASSES));
    const plain = await loadModelEntry(folder);
    const face = pixels.subarray(0, FACE_SIZE * FACE_SIZE);
    const raw = predictFaces(plain, face)[0];

    const { card, calibration } = await calibrateFolder(folder, makeSplit(pixels, labels), 'random faces (200)');
    assert.ok(calibration.temperature > 0 && Number.isFinite(calibration.temperature));
    assert.equal(calibration.fitted_on, 'random faces (200)');
    await writeCard(folder, card);
    assert.deepEqual((await readCard(folder)).calibration, calibration, 'the card keeps it');
    assert.deepEqual(
      (await fs.readdir(folder)).filter((f) => f.startsWith('.')),
      [],
      'no temporary file left',
    );

    // The same face through the calibrated model: the card's temperature applied.
    const calibrated = await loadModelEntry(folder);
    const scaled = predictFaces(calibrated, face)[0];
    const expected = applyTemperature(Float32Array.from(raw), calibration.temperature);
    for (let k = 0; k < NUM_CLASSES; k++) assert.ok(Math.abs(scaled[k] - expected[k]) < 1e-4, `class ${LABELS[k]}`);
    // With mirror averaging too, each pass is scaled and the rows still sum to 1.
    const tta = predictFaces(calibrated, face, { tta: true })[0];
    assert.ok(Math.abs(tta.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    disposeEntry(plain);
    disposeEntry(calibrated);
  });

  test('a card with a broken temperature is refused with a clear reason', async () => {
    const folder = path.join(dir, 'tiny');
    const card = await readCard(folder);
    await writeCard(folder, { ...card, calibration: { ...card.calibration!, temperature: -1 } });
    await assert.rejects(readCard(folder), /calibration\.temperature/);
  });
});

describe('the page says when the model is not sure', () => {
  const scores = (top: number, second: number) => {
    const rest = (1 - top - second) / 5;
    return toScores(Float32Array.from([top, second, rest, rest, rest, rest, rest]));
  };
  test('low top score, or two classes close: not sure; a clear lead: a verdict', () => {
    assert.deepEqual(certainty(scores(0.3, 0.25)), { unsure: true, best: 'angry', runnerUp: 'disgust' });
    assert.equal(certainty(scores(0.5, 0.45)).unsure, true);
    assert.equal(certainty(scores(0.7, 0.2)).unsure, false);
  });
  test('side by side: how many models agree', () => {
    assert.deepEqual(majorityOf(['happy', 'happy', 'sad']), { agreeing: 2, majority: 'happy' });
    assert.deepEqual(majorityOf(['sad', 'happy', 'happy']), { agreeing: 2, majority: 'happy' });
    assert.deepEqual(majorityOf(['sad', 'happy', 'fear']), { agreeing: 1, majority: 'sad' });
  });
});
