/**
 * The threaded SIMD build of the wasm backend in Node (src/tf/wasm-threads.ts):
 * it really runs with two threads (the pool's count as the backend reports it,
 * a live pthread worker, the shared memory, our SIMD kernels bound to it), and
 * its convolutions, our gradient kernels and a whole custom-CNN gradient match
 * the pure-JS cpu backend to 1e-4.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, wasmThreads } from '../../src/tf/backend.js';
import { simdOps } from '../../src/tf/wasm-simd.js';
import { buildCustomCnn } from '../../src/training/architectures/custom-cnn.js';
import { mulberry32 } from '../../src/training/random.js';
import { randomData, relError } from '../helpers/numeric.js';
import { countSimdCalls } from '../helpers/simd-spy.js';

const TOL = 1e-4;
const THREADS = 2;

// These are the kernels wasm runs without the OpenBLAS addon (native-kernels.test.ts tests that one).
process.env.EKSPRESI_NATIVE = '0';

before(async () => {
  assert.equal(await initBackend('wasm', undefined, { threads: THREADS }), 'wasm');
});

async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const data = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose(out);
  return data;
}

describe('the threaded wasm backend', () => {
  test('runs with the threads asked for: pool size, a live pthread worker, shared memory, SIMD kernels bound to it', () => {
    assert.equal(wasmThreads(), THREADS, 'XNNPACK pool size as the backend reports it');
    const module = (
      tf.findBackend('wasm') as unknown as { wasm: { PThread?: { runningWorkers: unknown[] }; wasmMemory?: WebAssembly.Memory } }
    ).wasm;
    assert.equal(module.PThread?.runningWorkers.length, THREADS - 1, 'pool threads besides the calling one');
    assert.ok(module.wasmMemory?.buffer instanceof SharedArrayBuffer, 'the heap is a shared memory');
    const ops = simdOps(tf.findBackend('wasm'));
    assert.ok(ops, 'the SIMD kernels (kernels-shared.wasm) did not load');
    assert.equal(ops.memory, module.wasmMemory);
  });

  test('conv2d forward and both gradients match cpu', async () => {
    // Small (the test must not crawl on a loaded machine), yet many XNNPACK tiles to share between the threads.
    const x = randomData(2 * 16 * 16 * 8, mulberry32(1)),
      f = randomData(3 * 3 * 8 * 16, mulberry32(2)),
      dy = randomData(2 * 16 * 16 * 16, mulberry32(3));
    const run = () => {
      const xt = tf.tensor4d(x, [2, 16, 16, 8]),
        ft = tf.tensor4d(f, [3, 3, 8, 16]),
        dyt = tf.tensor4d(dy, [2, 16, 16, 16]);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))([xt, ft], dyt);
      return [tf.conv2d(xt, ft, 1, 'same'), dx, df];
    };
    const ref = await on('cpu', run);
    const got = await on('wasm', run);
    ['forward', 'input gradient', 'filter gradient'].forEach((what, i) => {
      const err = relError(got[i], ref[i]);
      assert.ok(err <= TOL, `${what}: relative error ${err.toExponential(2)}`);
    });
  });

  test('the im2col filter gradient builds its patch matrix with the SIMD kernels on the shared heap, matching cpu', async () => {
    // 64 output channels: the im2col route (a 3x3 stride-1 conv of the custom CNN's kind).
    const xs = [2, 8, 8, 8] as const,
      dys = [2, 8, 8, 64] as const;
    const x = randomData(2 * 8 * 8 * 8, mulberry32(5)),
      dy = randomData(2 * 8 * 8 * 64, mulberry32(6));
    const run = () => [
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x: tf.tensor4d(x, [...xs]), dy: tf.tensor4d(dy, [...dys]) },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 64] },
        ) as tf.Tensor,
    ];
    const ref = await on('cpu', run);
    const ops = simdOps(tf.findBackend('wasm'));
    assert.ok(ops, 'the SIMD kernels did not load');
    let got: Float32Array[] = [];
    const calls = await countSimdCalls(ops, ['transpose', 'patchT'], async () => {
      got = await on('wasm', run);
    });
    assert.deepEqual(calls, { transpose: 1, patchT: 1 }, 'the wasm kernels built the patch matrix');
    const err = relError(got[0], ref[0]);
    assert.ok(err <= TOL, `filter gradient: relative error ${err.toExponential(2)}`);
  });

  test("batch norm's gradient takes its one-pass SIMD sums on the shared heap, matching cpu", async () => {
    const shape = [2, 6, 6, 12],
      c = 12;
    const rng = mulberry32(8);
    const [x, dy] = [randomData(2 * 6 * 6 * c, rng), randomData(2 * 6 * 6 * c, rng)];
    const [mean, scale, offset] = [randomData(c, rng), randomData(c, rng), randomData(c, rng)];
    const variance = randomData(c, rng).map((v) => Math.abs(v) + 0.5);
    const run = () =>
      tf.grads((xt: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
        tf.batchNorm(xt, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3),
      )([tf.tensor(x, shape), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(scale), tf.tensor1d(offset)], tf.tensor(dy, shape));
    const ref = await on('cpu', run);
    const ops = simdOps(tf.findBackend('wasm'));
    assert.ok(ops, 'the SIMD kernels did not load');
    let got: Float32Array[] = [];
    const calls: Record<'bnGradSums', number> = await countSimdCalls(ops, ['bnGradSums'], async () => {
      got = await on('wasm', run);
    });
    assert.equal(calls.bnGradSums, 1, 'the SIMD sums ran');
    ['x', 'mean', 'variance', 'scale', 'offset'].forEach((what, i) => {
      const err = relError(got[i], ref[i]);
      assert.ok(err <= TOL, `d ${what}: relative error ${err.toExponential(2)}`);
    });
  });

  test('a custom CNN gradient (conv, batch norm, pool, dense) matches cpu', async () => {
    const n = 4,
      size = 16;
    const x = randomData(n * size * size, mulberry32(4));
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 5, 6], 'int32'), 7));
    const build = () => buildCustomCnn({ inputSize: size, widths: [8, 16], convsPerBlock: [1, 2], dense: 16, dropout: 0, seed: 7 });
    await tf.setBackend('cpu');
    const init = build();
    const weights = await Promise.all(init.getWeights().map(async (w) => ({ data: Float32Array.from(await w.data()), shape: w.shape })));
    init.dispose();
    const grads = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const model = build();
      model.setWeights(weights.map((w) => tf.tensor(w.data, w.shape)));
      const y = tf.tensor(await labels.data(), labels.shape);
      // Inference-mode batch norm: training-mode statistics over 4 faces amplify rounding (see wasm-kernels.test.ts).
      const { value, grads: g } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(y, model.apply(tf.tensor4d(x, [n, size, size, 1]), { training: false }) as tf.Tensor) as tf.Scalar,
        model.trainableWeights.map((v) => v.read() as tf.Variable),
      );
      const out = await Promise.all(Object.values(g).map(async (t) => Float32Array.from(await t.data())));
      tf.dispose([value, y, ...Object.values(g)]);
      model.dispose();
      return out;
    };
    const ref = await grads('cpu');
    const got = await grads('wasm');
    labels.dispose();
    assert.equal(got.length, ref.length);
    ref.forEach((r, i) => {
      const err = relError(got[i], r);
      assert.ok(err <= TOL, `weight ${i}: relative error ${err.toExponential(2)}`);
    });
  });
});
