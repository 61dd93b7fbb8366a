/**
 * The inference compiler (src/inference/fused-model.ts): batch norms folded into the layer before them and
 * ReLUs fused into it give model.predict's answers with fewer kernels, for both architectures and the
 * shipped models; layouts it cannot fold are run as they are, and layers it does not know are refused.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { compileForInference } from '../../src/inference/fused-model.js';
import { disposeEntry, loadModelEntry } from '../../src/inference/registry.js';
import { buildCustomCnn } from '../../src/training/architectures/custom-cnn.js';
import { buildMobileNetV2 } from '../../src/training/architectures/mobilenetv2.js';
import { mulberry32 } from '../../src/training/random.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

/**
 * Every weight random, batch-norm statistics included (a fresh layer's mean 0 and variance 1 would fold
 * into nothing), so a fold that mixes up channels or forgets a term shows.
 */
function randomiseWeights(model: tf.LayersModel, seed: number): void {
  const rng = mulberry32(seed);
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    layer.setWeights(
      layer.weights.map((w, i) => {
        const n = weights[i].size;
        const name = w.originalName;
        const values = Float32Array.from({ length: n }, () =>
          name.endsWith('moving_variance') ? 0.2 + 2 * rng() : name.endsWith('gamma') ? 0.5 + rng() : (rng() - 0.5) * 0.6,
        );
        return tf.tensor(values, weights[i].shape);
      }),
    );
  }
}

function randomInput(shape: [number, number, number, number], seed: number): tf.Tensor4D {
  const rng = mulberry32(seed);
  return tf.tensor4d(
    Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng() * 2 - 1),
    shape,
  );
}

/** Largest difference between the two outputs, relative to the largest output. */
function gap(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let worst = 0;
  let scale = 1e-6;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(x[i]));
  }
  return worst / scale;
}

async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => {
    const y = f();
    y.dataSync();
    y.dispose();
  });
  return info.kernels.map((k) => k.name);
}

/** The kernels one pass runs: through model.predict, and through the compiled model. */
async function kernelsBothWays(model: tf.LayersModel, x: tf.Tensor4D): Promise<{ plain: string[]; fused: string[] }> {
  const compiled = compileForInference(tf, model)!;
  const plain = await kernelsOf(() => model.predict(x) as tf.Tensor);
  const fused = await kernelsOf(() => compiled.run(x));
  compiled.dispose();
  return { plain, fused };
}

function checkSame(model: tf.LayersModel, x: tf.Tensor4D, tolerance: number): void {
  const compiled = compileForInference(tf, model);
  assert.ok(compiled, 'the model compiles');
  const before = tf.memory().numTensors;
  const [want, got] = [model.predict(x) as tf.Tensor, tf.tidy(() => compiled.run(x))];
  assert.ok(gap(want, got) < tolerance, `compiled answers differ from model.predict by ${gap(want, got)}`);
  tf.dispose([want, got]);
  assert.equal(tf.memory().numTensors, before, 'a run leaves no tensors behind');
  const held = tf.memory().numTensors;
  compiled.dispose();
  assert.ok(tf.memory().numTensors < held, 'dispose frees the folded weights');
}

describe('compiling a model for inference', () => {
  test('a custom CNN: the same answers, no batch-norm or ReLU kernels left', async () => {
    const model = buildCustomCnn({ inputSize: 24, widths: [8, 16], convsPerBlock: [1, 2], dense: 16, seed: 3 });
    randomiseWeights(model, 11);
    const x = randomInput([3, 24, 24, 1], 5);
    checkSame(model, x, 1e-5);
    const { plain, fused } = await kernelsBothWays(model, x);
    assert.ok(plain.includes('FusedBatchNorm') && plain.includes('Relu'), `model.predict runs them: ${plain.join(' ')}`);
    for (const k of ['FusedBatchNorm', 'Relu', 'Relu6']) assert.ok(!fused.includes(k), `no ${k} after compiling: ${fused.join(' ')}`);
    assert.ok(fused.length < plain.length, `${fused.length} kernels against ${plain.length}`);
  });

  test('a MobileNetV2 (depthwise convolutions, ReLU6, residual adds, padding): the same answers, a fraction of the kernels', async () => {
    const model = buildMobileNetV2({ inputSize: 32, alpha: 0.35, seed: 4 });
    randomiseWeights(model, 12);
    const x = randomInput([2, 32, 32, 3], 6);
    checkSame(model, x, 1e-4);
    const { plain, fused } = await kernelsBothWays(model, x);
    for (const k of ['FusedBatchNorm', 'Relu6', 'ClipByValue']) assert.ok(!fused.includes(k), `no ${k} after compiling`);
    assert.ok(fused.length * 2 < plain.length, `${fused.length} kernels against ${plain.length}`);
    model.dispose();
  });

  test('a batch norm whose input another layer also reads is run as it is, not folded', () => {
    const input = tf.input({ shape: [8, 8, 2] });
    const conv = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: true, name: 'c' })
      .apply(input) as tf.SymbolicTensor;
    // through a dropout (an identity at inference), whose only reader the batch norm is
    const dropped = tf.layers.dropout({ rate: 0.5, name: 'd' }).apply(conv) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(dropped) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ name: 'r' }).apply(conv) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'sum' }).apply([bn, relu]) as tf.SymbolicTensor;
    const after = tf.layers.batchNormalization({ name: 'bn2' }).apply(sum) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: after });
    randomiseWeights(model, 13);
    checkSame(model, randomInput([2, 8, 8, 2], 7), 1e-5);
    model.dispose();
  });

  test('a layer it does not know: not compiled, so the layers model serves', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers.globalAveragePooling2d({}).apply(up) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    assert.equal(compileForInference(tf, model), null);
    model.dispose();
  });

  test('the shipped models load compiled, and answer as model.predict does', async () => {
    for (const name of ['custom-cnn', 'mobilenetv2']) {
      const entry = await loadModelEntry(path.join(PROJECT_ROOT, 'models', name));
      assert.equal(entry.kind, 'network');
      if (entry.kind !== 'network') continue;
      assert.ok(entry.compiled, `${name} is compiled`);
      const { size, channels } = entry.card.input;
      const x = randomInput([4, size, size, channels], 8);
      const [want, got] = [entry.model.predict(x) as tf.Tensor, tf.tidy(() => entry.run(x))];
      assert.ok(gap(want, got) < 1e-4, `${name}: differs by ${gap(want, got)}`);
      tf.dispose([want, got, x]);
      disposeEntry(entry);
    }
  });
});
