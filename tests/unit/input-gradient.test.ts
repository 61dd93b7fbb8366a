/**
 * The convolutions that read a trained model's input skip the input gradient
 * (src/training/input-gradient.ts): the same weight gradients and the same
 * predictions as the fused layer, one Conv2DBackpropInput fewer per step, and
 * the first trained layer of a MobileNetV2 split is found too.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { buildCustomCnn } from '../../src/training/architectures/custom-cnn.js';
import { buildMobileNetV2 } from '../../src/training/architectures/mobilenetv2.js';
import { skipInputGradient } from '../../src/training/input-gradient.js';
import { splitModel } from '../../src/training/split-model.js';
import { mulberry32 } from '../../src/training/random.js';
import { relError } from '../helpers/numeric.js';

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

const SIZE = 24;
const small = () => buildCustomCnn({ inputSize: SIZE, widths: [8, 16], convsPerBlock: [1, 2], dense: 16, seed: 5 });

function batch(n: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = mulberry32(9);
  const x = tf.tensor4d(
    Float32Array.from({ length: n * SIZE * SIZE }, () => rng()),
    [n, SIZE, SIZE, 1],
  );
  const y = tf
    .oneHot(
      tf.tensor1d(
        Array.from({ length: n }, (_, i) => i % 7),
        'int32',
      ),
      7,
    )
    .toFloat() as tf.Tensor2D;
  return { x, y };
}

/** The loss's gradient for every trainable weight, and the kernels the computation ran (by name). */
function gradients(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor2D): Promise<{ grads: Float32Array[]; kernels: string[] }> {
  const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
  let grads: Float32Array[] = [];
  return tf
    .profile(() => {
      const { grads: g } = tf.variableGrads(() => {
        const p = model.apply(x, { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(y, p) as tf.Scalar;
      }, vars);
      grads = vars.map((v) => g[v.name].dataSync() as Float32Array);
      tf.dispose(Object.values(g));
    })
    .then((info) => ({ grads, kernels: info.kernels.map((k) => k.name) }));
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe('skipping the input gradient of the first convolution', () => {
  test('the same weight gradients, one input-gradient kernel fewer', async () => {
    const { x, y } = batch(6);
    const plain = small();
    const patched = small();
    assert.deepEqual(skipInputGradient(patched), ['block1_conv1']);
    const a = await gradients(plain, x, y);
    const b = await gradients(patched, x, y);
    assert.equal(a.grads.length, b.grads.length);
    a.grads.forEach((g, i) => assert.ok(relError(g, b.grads[i]) < 1e-5, `weight ${i}: ${relError(g, b.grads[i])}`));
    assert.equal(count(a.kernels, 'Conv2DBackpropInput'), 3, 'the fused layers compute every input gradient');
    assert.equal(count(b.kernels, 'Conv2DBackpropInput'), 2, 'the first convolution skips its input gradient');
    tf.dispose([x, y]);
    plain.dispose();
    patched.dispose();
  });

  test('inference runs the fused layer and predicts the same', () => {
    const { x, y } = batch(3);
    const plain = small();
    const patched = small();
    skipInputGradient(patched);
    const p = (plain.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const q = (patched.predict(x) as tf.Tensor).dataSync() as Float32Array;
    assert.deepEqual(Array.from(q), Array.from(p));
    tf.dispose([x, y]);
    plain.dispose();
    patched.dispose();
  });

  test('a split model: the first trained convolution of the top', () => {
    const model = buildMobileNetV2({ inputSize: 32 });
    const inTop = splitModel(model, 'block_8_expand');
    const trained = inTop.top.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
    assert.ok(trained.includes('block_8_expand'));
    // Only the layer that reads the top's input; splitModel has already patched it, so a second pass finds it again.
    assert.deepEqual(skipInputGradient(inTop.top), ['block_8_expand']);
    model.dispose();
  });
});
