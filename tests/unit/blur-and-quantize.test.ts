/**
 * The blur matching of the shared preprocessing (training/sharpness.ts,
 * facesToTensor's sourceBlur) and float16 quantisation (npm run quantize).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { initBackend, tf } from '../../src/tf/backend.js';
import { blurFaces, facesToTensor, FACE_PIXELS } from '../../src/inference/preprocess.js';
import { loadDataSet, makeSplit } from '../../src/training/dataset.js';
import { mulberry32 } from '../../src/training/random.js';
import { estimateBlur, laplacianEnergy } from '../../src/training/sharpness.js';
import { loadTrainedModel } from '../../src/artifacts/model-folder.js';
import { drawFace, makeSyntheticFer } from '../helpers/synthetic-fer.js';
import { saveTinyModel, testCard } from '../helpers/models.js';
import { evaluateSplit } from '../../src/training/evaluate.js';
import { TTA_MIN_GAIN } from '../../src/training/config.js';
import { expectedTta } from '../helpers/tta.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

function faces(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n * FACE_PIXELS);
  for (let i = 0; i < n; i++) out.set(drawFace(i % 7, rng, 20), i * FACE_PIXELS);
  return out;
}

const toBytes = (f: Float32Array) => Uint8Array.from(f, (v) => Math.round(Math.min(255, Math.max(0, v))));

before(async () => {
  await initBackend('wasm');
});

describe('blur matching', () => {
  test('a blurred copy is detected and its sigma estimated', () => {
    const sharp = faces(140, 1);
    const blurred = toBytes(blurFaces(faces(140, 2), 2.5));
    assert.ok(laplacianEnergy(blurred) < laplacianEnergy(sharp) / 3);
    const labels = new Uint8Array(140);
    const e = estimateBlur(makeSplit(blurred, labels), makeSplit(sharp, labels));
    assert.ok(e.sigma > 1.8 && e.sigma < 3.2, `estimated sigma ${e.sigma}, blurred with 2.5`);
  });

  test('equally sharp splits need no blur', () => {
    const labels = new Uint8Array(140);
    assert.equal(estimateBlur(makeSplit(faces(140, 3), labels), makeSplit(faces(140, 4), labels)).sigma, 0);
  });

  test('facesToTensor blurs sharp faces by input.blur and already-blurred faces not again', () => {
    const sharp = faces(2, 5);
    const spec = { size: 48, channels: 1 as const, normalisation: 'unit' as const, blur: 2 };
    const fromSharp = facesToTensor(sharp, spec);
    const expected = facesToTensor(blurFaces(sharp, 2), { ...spec, blur: 0 });
    const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.sub(a, b).abs().max().dataSync()[0];
    assert.ok(maxDiff(fromSharp, expected) < 1e-5, `sharp faces: ${maxDiff(fromSharp, expected)}`);
    const already = blurFaces(sharp, 2);
    const notAgain = facesToTensor(already, spec, 2);
    assert.ok(maxDiff(notAgain, expected) < 1e-5, `already blurred: ${maxDiff(notAgain, expected)}`);
    // Blurs compose in quadrature: faces at sigma 1.2 get the remaining sqrt(4 - 1.44)
    // (exactly so away from the clamped edges).
    const partly = facesToTensor(blurFaces(sharp, 1.2), spec, 1.2);
    const inner = (t: tf.Tensor4D) => tf.slice(t, [0, 8, 8, 0], [2, 32, 32, 1]);
    assert.ok(maxDiff(inner(partly), inner(expected)) < 0.01, `partly blurred: ${maxDiff(inner(partly), inner(expected))}`);
    tf.dispose([fromSharp, expected, notAgain, partly]);
  });
});

describe('npm run quantize', () => {
  let dir = '';
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-quant-'));
    await saveTinyModel(dir, testCard('tiny', 0.5), 3);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('halves the weights, records float16 and predicts the same', async () => {
    const src = path.join(dir, 'tiny'),
      out = path.join(dir, 'tiny-f16');
    await run(process.execPath, ['--import', 'tsx', 'src/cli/quantize.ts', '--model', src, '--out', out], { cwd: ROOT });
    const [a, b] = await Promise.all([fs.stat(path.join(src, 'weights.bin')), fs.stat(path.join(out, 'weights.bin'))]);
    assert.ok(b.size < a.size * 0.55, `${a.size} -> ${b.size} bytes`);
    const [m32, m16] = await Promise.all([loadTrainedModel(src), loadTrainedModel(out)]);
    assert.equal(m16.card.quantization, 'float16');
    const x = facesToTensor(faces(4, 9), m32.card.input);
    const diff = tf
      .sub(m32.model.predict(x) as tf.Tensor, m16.model.predict(x) as tf.Tensor)
      .abs()
      .max()
      .dataSync()[0];
    assert.ok(diff < 5e-3, `float16 changed a probability by ${diff}`);
  });

  test("--data: the card gets the float16 weights' PublicTest figures as served and its TTA choice", async () => {
    const fer = await makeSyntheticFer();
    try {
      const out = path.join(dir, 'tiny-f16-measured');
      await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/quantize.ts', '--model', path.join(dir, 'tiny'), '--out', out, '--data', fer.csv],
        {
          cwd: ROOT,
        },
      );
      const { card, model } = await loadTrainedModel(out);
      const split = (await loadDataSet(fer.csv, { usages: ['PublicTest'] })).get('PublicTest')!;
      const served = await evaluateSplit(model, card.input, split, { tta: card.tta });
      const m = card.metrics.PublicTest!;
      assert.equal(m.n, split.size);
      assert.equal(m.accuracy, served.accuracy);
      assert.deepEqual(m.confusion, served.confusion);
      const choice = card.tta_choice!;
      assert.equal(choice.min_gain, TTA_MIN_GAIN);
      assert.ok(choice.shift, 'shift measured too');
      assert.equal(card.tta, expectedTta(choice));
      const plain = await evaluateSplit(model, card.input, split);
      assert.equal(choice.none.accuracy, Math.round(plain.accuracy * 1e4) / 1e4);
      model.dispose();
    } finally {
      await fer.cleanup();
    }
  });

  test('refuses a model that is already float16, with a message', async () => {
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', 'src/cli/quantize.ts', '--model', path.join(dir, 'tiny-f16')], { cwd: ROOT }),
      (e: { stderr: string; code: number }) => e.code === 1 && /already float16/.test(e.stderr),
    );
  });
});
