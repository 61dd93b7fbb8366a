/**
 * The OpenBLAS kernels of src/tf/native-kernels.ts against the pure-JS `cpu`
 * backend: Conv2D, FusedConv2D (bias, relu, relu6), both convolution
 * gradients, the depthwise convolution (plain and fused) and its two
 * gradients, and the matrix products (transposed, batched, fused) on the
 * shared edge and random cases, each proved to have run in the addon; the
 * cases they leave to wasm's kernels (dilation, other activations) still
 * right (dilation, other activations, a depthwise multiplier above 1); and whole-model gradients. Skipped, with a message, where the addon
 * is not built; in CI, which installs OpenBLAS, it must be.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { nativeBlas, nativeKernelNames, nativeKernelsCore, type NativeBlas } from '../../src/tf/native-kernels.js';
import { buildCustomCnn } from '../../src/training/architectures/custom-cnn.js';
import { buildMobileNetV2 } from '../../src/training/architectures/mobilenetv2.js';
import { mulberry32 } from '../../src/training/random.js';
import { randomData } from '../helpers/numeric.js';
import { countSimdCalls } from '../helpers/simd-spy.js';
import {
  ALL_CASES,
  assertModelGradientsMatchCpu,
  assertSameOnBoth,
  depthwiseGradient,
  describeCase,
  filterGradient,
  kernelInputs,
  sizeOf,
  TOL,
  type ConvCase,
} from '../helpers/conv-cases.js';

await initBackend('wasm');
const blas = nativeBlas();
const skip = blas ? false : 'the OpenBLAS addon is not built (npm run build:native; it needs libopenblas-dev and a C compiler)';
if (skip) console.log(`# skipped: ${skip}`);

before(() => {
  if (process.env.CI && !blas) assert.fail('CI installs OpenBLAS, so the addon must be built: see the output of npm ci');
});

/** Runs `fn` and asserts that it called the addon's `name` at least once. */
async function inAddon(name: keyof NativeBlas, fn: () => Promise<void>): Promise<void> {
  const counts = await countSimdCalls(blas!, [name], fn);
  assert.ok(counts[name] > 0, `${name} did not run in the addon`);
}

/**
 * A case's forward convolution, plain and fused (a bias; linear, relu and relu6), against cpu, each proved
 * to have run in the addon's `kind` function.
 */
async function checkForward(kind: 'conv2d' | 'depthwiseConv2d', c: ConvCase, d: ReturnType<typeof kernelInputs>, seed: number) {
  const depthwise = kind === 'depthwiseConv2d';
  const x = () => tf.tensor4d(d.x, d.xShape);
  const f = () => tf.tensor4d(d.f, d.fShape);
  await inAddon(kind, () =>
    assertSameOnBoth(kind, () => (depthwise ? tf.depthwiseConv2d(x(), f(), c.stride, c.pad) : tf.conv2d(x(), f(), c.stride, c.pad))),
  );
  const bias = randomData(depthwise ? c.ci : c.co, mulberry32(seed));
  for (const activation of ['linear', 'relu', 'relu6'] as const) {
    await inAddon(kind, () =>
      assertSameOnBoth(`${kind} fused, ${activation}`, () => {
        const args = { x: x(), filter: tf.mul(f(), 4) as tf.Tensor4D, strides: c.stride, pad: c.pad, bias: tf.tensor1d(bias), activation };
        return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
      }),
    );
  }
}

describe('the OpenBLAS kernels replace wasm\u2019s', { skip }, () => {
  test('registered for every kernel they handle, with the core they run on', () => {
    assert.ok(nativeKernelsCore(), 'an OpenBLAS core name');
    for (const name of nativeKernelNames) assert.ok(tf.getKernel(name, 'wasm'), `${name} is registered`);
  });

  ALL_CASES.forEach((c, i) => {
    test(`convolution and both gradients: ${describeCase(c)}`, async () => {
      const d = kernelInputs(c, false, 100 + i);
      const f = () => tf.tensor4d(d.f, d.fShape);
      await checkForward('conv2d', c, d, i);
      await inAddon('conv2dBackpropFilter', () => assertSameOnBoth('Conv2DBackpropFilter', () => filterGradient(c, d)));
      await inAddon('conv2dBackpropInput', () =>
        assertSameOnBoth('Conv2DBackpropInput', () => tf.conv2dTranspose(tf.tensor4d(d.dy, d.dyShape), f(), d.xShape, c.stride, c.pad)),
      );
    });
  });

  ALL_CASES.forEach((c, i) => {
    const dc = { ...c, co: 1 };
    test(`depthwise convolution and both gradients: ${describeCase(dc)}`, async () => {
      const d = kernelInputs(dc, true, 300 + i);
      await checkForward('depthwiseConv2d', dc, d, i);
      await inAddon('depthwiseBackpropFilter', () =>
        assertSameOnBoth('DepthwiseConv2dNativeBackpropFilter', () => depthwiseGradient('filter', dc, d)),
      );
      await inAddon('depthwiseBackpropInput', () =>
        assertSameOnBoth('DepthwiseConv2dNativeBackpropInput', () => depthwiseGradient('input', dc, d)),
      );
    });
  });

  test('a depthwise channel multiplier of 2 is left to wasm\u2019s kernels, and still right', async () => {
    const c = { ...ALL_CASES[0], co: 2 };
    const d = kernelInputs(c, true, 77);
    const counts = await countSimdCalls(blas!, ['depthwiseConv2d', 'depthwiseBackpropFilter'], async () => {
      await assertSameOnBoth('depthwise x2', () =>
        tf.depthwiseConv2d(tf.tensor4d(d.x, d.xShape), tf.tensor4d(d.f, d.fShape), c.stride, c.pad),
      );
      await assertSameOnBoth('depthwise x2, filter gradient', () => depthwiseGradient('filter', c, d));
    });
    assert.deepEqual(counts, { depthwiseConv2d: 0, depthwiseBackpropFilter: 0 });
    // wasm's input gradient for a multiplier of 2 is a sum of multiplier-1 convolutions, which the addon may run.
    await assertSameOnBoth('depthwise x2, input gradient', () => depthwiseGradient('input', c, d));
  });

  test('what they leave to wasm\u2019s kernels is still right: dilation 2, a prelu activation', async () => {
    const rng = mulberry32(9);
    const x = randomData(2 * 9 * 9 * 3, rng),
      f = randomData(3 * 3 * 3 * 4, rng),
      alpha = randomData(4, rng);
    const counts = await countSimdCalls(blas!, ['conv2d'], async () => {
      await assertSameOnBoth('dilated', () => tf.conv2d(tf.tensor4d(x, [2, 9, 9, 3]), tf.tensor4d(f, [3, 3, 3, 4]), 1, 'same', 'NHWC', 2));
      await assertSameOnBoth('prelu', () =>
        tf.fused.conv2d({
          x: tf.tensor4d(x, [2, 9, 9, 3]),
          filter: tf.tensor4d(f, [3, 3, 3, 4]),
          strides: 1,
          pad: 'valid',
          activation: 'prelu',
          preluActivationWeights: tf.tensor1d(alpha),
        }),
      );
    });
    assert.equal(counts.conv2d, 0, 'neither went to the addon');
  });

  const matmuls: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [7, 3], false, false],
    [[5, 7], [5, 3], true, false], // a dense layer's dW = x^T @ dy
    [[4, 3], [6, 3], false, true], // its dx = dy @ W^T
    [[3, 4], [5, 3], true, true],
    [[3, 5, 4], [3, 4, 6], false, false], // batched
    [[2, 5, 3], [2, 4, 5], true, true],
    [[1, 5, 4], [3, 4, 2], false, false], // a batch of one broadcast against three
    [[3, 5, 4], [1, 4, 2], false, false],
  ];
  for (const [sa, sb, ta, tb] of matmuls) {
    test(`matrix product ${sa.join('x')}${ta ? '^T' : ''} @ ${sb.join('x')}${tb ? '^T' : ''}, plain and fused`, async () => {
      const rng = mulberry32(sizeOf(sa) + sizeOf(sb));
      const a = randomData(sizeOf(sa), rng),
        b = randomData(sizeOf(sb), rng);
      const n = tb ? sb[sb.length - 2] : sb[sb.length - 1];
      const bias = randomData(n, rng);
      await inAddon('gemm', () => assertSameOnBoth('BatchMatMul', () => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb)));
      await inAddon('gemm', () =>
        assertSameOnBoth('_FusedMatMul', () =>
          tf.fused.matMul({
            a: tf.tensor(a, sa),
            b: tf.tensor(b, sb),
            transposeA: ta,
            transposeB: tb,
            bias: tf.tensor1d(bias),
            activation: 'relu',
          }),
        ),
      );
    });
  }

  test('a batch dimension each side broadcasts ([2,1] against [1,3]): left to wasm, still right', async () => {
    const rng = mulberry32(4);
    const a = randomData(2 * 1 * 3 * 4, rng),
      b = randomData(1 * 3 * 4 * 2, rng);
    await assertSameOnBoth('BatchMatMul 4D', () => tf.matMul(tf.tensor(a, [2, 1, 3, 4]), tf.tensor(b, [1, 3, 4, 2])));
  });

  test('whole-model gradients: the custom CNN in training mode', () =>
    inAddon('conv2dBackpropFilter', () =>
      assertModelGradientsMatchCpu(
        'custom CNN',
        () => buildCustomCnn({ widths: [4, 8], convsPerBlock: [1, 2], dense: 8, seed: 3, dropout: 0, inputSize: 48 }),
        48,
        1,
        4,
        true,
        1e-3,
      ),
    ));

  test('whole-model gradients: MobileNetV2 at 64x64 (inference-mode batch norm, as wasm-kernels.test.ts compares it)', () =>
    inAddon('depthwiseBackpropInput', () =>
      assertModelGradientsMatchCpu('MobileNetV2', () => buildMobileNetV2({ inputSize: 64, seed: 3, dropout: 0 }), 64, 3, 2, false, TOL),
    ));
});
