/**
 * The wasm gradient kernels of src/tf/wasm-gradients.ts against the
 * pure-JS `cpu` backend: each registered kernel on random and edge-case shapes
 * (odd sizes, stride 2, 'same'/'valid', batch 1, channel multiplier 2), the
 * replaced element-wise/batch-norm/pad/slice/identity/Tile/Sum/Mean kernels and
 * their fallbacks, whole-model gradients, no
 * tensor leaks per training step, and a short wasm training run that learns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { originalWasmKernels, replacedWasmKernelNames, wasmGradientKernelNames } from '../../src/tf/wasm-gradients.js';
import { mulberry32 } from '../../src/training/random.js';
import { buildCustomCnn, CNN_INPUT, cnnInput } from '../../src/training/architectures/custom-cnn.js';

/** A grey 48x48 input, for the hand-built nets below. */
const FULL_SIZE_GREY = cnnInput(48);
import { buildMobileNetV2, keepBatchNormInInference, mobilenetInput } from '../../src/training/architectures/mobilenetv2.js';
import { splitModel } from '../../src/training/split-model.js';
import { trainStep } from '../../src/training/step.js';
import { evaluateSplit } from '../../src/training/evaluate.js';
import { makeSplit } from '../../src/training/dataset.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';
import { makeSyntheticFaces, type SyntheticFaces } from '../helpers/synthetic-fer.js';
import { randomData } from '../helpers/numeric.js';
import {
  ALL_CASES,
  assertModelGradientsMatchCpu,
  assertSameOnBoth,
  depthwiseGradient,
  describeCase,
  EDGE_CASES,
  filterGradient,
  kernelInputs,
  sizeOf,
  TOL,
  type ConvCase,
  type Pad,
  type Shape4,
} from '../helpers/conv-cases.js';
import { countSimdCalls } from '../helpers/simd-spy.js';
import { simdOps } from '../../src/tf/wasm-simd.js';
import { patchMatrixT, type WasmBackend } from '../../src/tf/wasm-heap-kernels.js';

// These are the kernels wasm runs without the OpenBLAS addon (native-kernels.test.ts tests that one).
process.env.EKSPRESI_NATIVE = '0';

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

describe('registered kernels', () => {
  test('every gradient kernel is registered for wasm, and ours replace the slow built-in ones', () => {
    for (const name of wasmGradientKernelNames) assert.ok(tf.getKernel(name, 'wasm'), `${name} is not registered for wasm`);
    // The three TF.js lacks on wasm (tfjs #8474) are new; the others replace the built-in ones.
    assert.deepEqual([...originalWasmKernels.keys()].sort(), [...replacedWasmKernelNames]);
    for (const [name, original] of originalWasmKernels) {
      assert.notEqual(tf.getKernel(name, 'wasm')!.kernelFunc, original.kernelFunc, `${name} is still the built-in kernel`);
    }
  });

  test('the wasm backend still has the internals our kernels use (its version is pinned)', async () => {
    const pkg = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.match(pkg.dependencies['@tensorflow/tfjs-backend-wasm'], /^\d+\.\d+\.\d+$/, 'pinned to one exact version');
    const backend = tf.findBackend('wasm') as unknown as Record<string, unknown> & { dataIdMap?: { get?: unknown } };
    for (const member of ['makeOutput', 'typedArrayFromHeap', 'incRef']) {
      assert.equal(typeof backend[member], 'function', `wasm backend has no ${member}()`);
    }
    assert.equal(typeof backend.dataIdMap?.get, 'function', 'wasm backend has no dataIdMap');
    const t = tf.tensor1d([1, 2, 3]);
    const info = (backend.dataIdMap as { get(id: unknown): { memoryOffset?: unknown } }).get(t.dataId);
    assert.equal(typeof info?.memoryOffset, 'number', 'tensor data has no memoryOffset in the wasm heap');
    t.dispose();
  });
});

describe('Conv2DBackpropFilter / Conv2DBackpropInput match cpu', () => {
  ALL_CASES.forEach((c, i) => {
    test(describeCase(c), async () => {
      const d = kernelInputs(c, false, 100 + i);
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC' };
      await assertSameOnBoth('Conv2DBackpropFilter', () => filterGradient(c, d));
      await assertSameOnBoth(
        'Conv2DBackpropInput',
        () =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy: tf.tensor4d(d.dy, d.dyShape), filter: tf.tensor4d(d.f, d.fShape) },
              { ...attrs, inputShape: d.xShape },
            ) as tf.Tensor,
      );
    });
  });
});

describe("the filter gradient's patch matrix is built in wasm (transpose, patch_t)", () => {
  // Stride-1 convs that take the im2col route (co >= 64 or ci < 4): position and channel counts that
  // leave tails after the 4x4 transpose blocks, 'valid' and 'same', a 5x5 and a 3x1 kernel, one channel.
  const cases: Array<ConvCase & { label: string }> = [
    { label: 'odd positions and channels', n: 1, h: 5, w: 7, ci: 6, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
    { label: "the custom CNN's shape", n: 2, h: 6, w: 6, ci: 8, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
    { label: 'one channel (no transpose)', n: 2, h: 6, w: 5, ci: 1, co: 5, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
    { label: '5x5 kernel', n: 2, h: 7, w: 6, ci: 3, co: 4, kh: 5, kw: 5, stride: [1, 1], pad: 'same' },
    { label: '3x1 kernel', n: 1, h: 4, w: 9, ci: 13, co: 64, kh: 3, kw: 1, stride: [1, 1], pad: 'same' },
  ];
  cases.forEach((c, i) => {
    test(`${c.label}: ${describeCase(c)} matches cpu, through the wasm kernels`, async () => {
      const d = kernelInputs(c, false, 500 + i);
      const ops = simdOps(tf.findBackend('wasm'));
      assert.ok(ops, 'the SIMD kernels did not load');
      const calls = await countSimdCalls(ops, ['transpose', 'patchT'], () =>
        assertSameOnBoth('Conv2DBackpropFilter', () => filterGradient(c, d)),
      );
      assert.equal(calls.patchT, 1, 'patch_t ran once');
      assert.equal(calls.transpose, c.ci > 1 ? 1 : 0, 'the channel-major copy ran in wasm (not for one channel)');
    });
  });

  test('the wasm patch matrix equals the JS fallback, value for value', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as WasmBackend;
    for (const [i, c] of cases.entries()) {
      const d = kernelInputs(c, false, 600 + i);
      const info = tf.backend_util.computeConv2DInfo(d.xShape, d.fShape, 1, 1, c.pad);
      const { outHeight: oh, outWidth: ow, padInfo } = info;
      const x = tf.tensor4d(d.x, d.xShape);
      const build = (simd: boolean) => {
        const t = patchMatrixT(backend, x, c.kh, c.kw, oh, ow, padInfo.top, padInfo.left, simd ? undefined : null);
        const out = tf.engine().makeTensorFromTensorInfo(t);
        const values = out.dataSync().slice();
        out.dispose();
        return values;
      };
      assert.deepEqual(build(true), build(false), c.label);
      x.dispose();
    }
  });
});

describe("batch norm's gradient on wasm (one SIMD pass for its per-channel sums) matches cpu", () => {
  const cases: number[][] = [
    [2, 5, 7, 6], // channels past one 4-lane vector
    [3, 4, 4, 8],
    [5, 9], // the dense layer's batch norm
    [1, 2, 2, 3], // fewer channels than one vector
  ];
  cases.forEach((shape, i) => {
    test(`x ${shape.join('x')}: d x, mean, variance, scale, offset`, async () => {
      const rng = mulberry32(700 + i);
      const c = shape[shape.length - 1];
      const x = randomData(sizeOf(shape), rng),
        dy = randomData(sizeOf(shape), rng),
        mean = randomData(c, rng),
        variance = randomData(c, rng).map((v) => Math.abs(v) + 0.5),
        scale = randomData(c, rng),
        offset = randomData(c, rng);
      const ops = simdOps(tf.findBackend('wasm'));
      assert.ok(ops, 'the SIMD kernels did not load');
      const names = ['x', 'mean', 'variance', 'scale', 'offset'];
      for (const [k, name] of names.entries()) {
        const calls: Record<'bnGradSums', number> = await countSimdCalls(ops, ['bnGradSums'], () =>
          assertSameOnBoth(`d ${name}`, () => {
            const args = [tf.tensor(x, shape), tf.tensor1d(mean), tf.tensor1d(variance), tf.tensor1d(scale), tf.tensor1d(offset)];
            const f = (xt: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
              tf.batchNorm(xt, m as tf.Tensor1D, v as tf.Tensor1D, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3);
            return tf.grads(f)(args, tf.tensor(dy, shape))[k];
          }),
        );
        assert.equal(calls.bnGradSums, 1, `d ${name}: the SIMD sums ran on wasm`);
      }
    });
  });
});

describe('DepthwiseConv2dNativeBackpropFilter / Input match cpu', () => {
  // Channel multiplier 1 (MobileNetV2) and 2 (the general path).
  const cases = ALL_CASES.flatMap((c) => [
    { ...c, co: 1 },
    { ...c, co: 2 },
  ]);
  cases.forEach((c, i) => {
    test(describeCase(c), async () => {
      const d = kernelInputs(c, true, 500 + i);
      await assertSameOnBoth('DepthwiseConv2dNativeBackpropFilter', () => depthwiseGradient('filter', c, d));
      await assertSameOnBoth('DepthwiseConv2dNativeBackpropInput', () => depthwiseGradient('input', c, d));
    });
  });
});

describe('gradients through the ops (as tf.grads calls the kernels)', () => {
  test('sum and mean over leading, trailing, middle and all axes: dy broadcast, not multiplied by ones', async () => {
    const rng = mulberry32(902);
    const shape = [3, 4, 5, 6];
    const x = randomData(sizeOf(shape), rng);
    const cases: Array<number[] | undefined> = [[0, 1, 2], [3], [1, 2], undefined];
    for (const axis of cases) {
      for (const reduce of [tf.sum, tf.mean]) {
        await assertSameOnBoth(`${reduce === tf.sum ? 'sum' : 'mean'} over ${axis ?? 'all'}`, () =>
          // The square makes dy vary, so a wrong broadcast would show.
          tf.grad((t: tf.Tensor) => tf.sum(tf.square(reduce(t, axis))))(tf.tensor(x, shape)),
        );
        await assertSameOnBoth(`keepDims ${axis ?? 'all'}`, () =>
          tf.grad((t: tf.Tensor) => tf.sum(tf.square(reduce(t, axis, true))))(tf.tensor(x, shape)),
        );
      }
    }
  });

  test('relu, relu6 and clipByValue: dy where x is in range, in one SIMD pass, ties at the bounds included', async () => {
    const rng = mulberry32(905);
    // Values on a half-unit grid from -8 to 8: exact zeros, sixes and clip bounds occur; 203 values leave a scalar tail.
    const x = Float32Array.from({ length: 203 }, () => Math.round((rng() * 16 - 8) * 2) / 2);
    const shape = [7, 29];
    const dyOf = () => tf.add(tf.linspace(-3, 5, 203).reshape(shape), 0.25);
    const ops: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [
      ['relu', (t) => tf.relu(t)],
      ['relu6', (t) => tf.relu6(t)],
      ['clipByValue(-1.5, 2.5)', (t) => tf.clipByValue(t, -1.5, 2.5)],
      ['relu then clipByValue(0, 6), as Keras ReLU(6)', (t) => tf.clipByValue(tf.relu(t), 0, 6)],
    ];
    const simd = simdOps(tf.findBackend('wasm'))!;
    for (const [label, op] of ops) {
      const counts = await countSimdCalls(simd, ['rangeGrad'], () =>
        assertSameOnBoth(label, () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t), dyOf())))(tf.tensor(x, shape)), 0),
      );
      assert.ok(counts.rangeGrad > 0, `${label}: the SIMD range gradient did not run`);
    }
  });

  const cases: ConvCase[] = [EDGE_CASES[0], EDGE_CASES[1], EDGE_CASES[7], EDGE_CASES[10]];
  for (const c of cases) {
    test(`conv2d and depthwiseConv2d, ${describeCase(c)}`, async () => {
      const d = kernelInputs(c, false, 900);
      const dwF = randomData(c.kh * c.kw * c.ci * 2, mulberry32(901));
      for (const which of [0, 1]) {
        await assertSameOnBoth(`conv2d grad ${which}`, () => {
          const g = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad))),
          );
          const out = g([tf.tensor4d(d.x, d.xShape), tf.tensor4d(d.f, d.fShape)]);
          tf.dispose(out[1 - which]);
          return out[which];
        });
        await assertSameOnBoth(`depthwiseConv2d grad ${which}`, () => {
          const g = tf.grads((x: tf.Tensor, f: tf.Tensor) =>
            tf.sum(tf.square(tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad))),
          );
          const out = g([tf.tensor4d(d.x, d.xShape), tf.tensor4d(dwF, [c.kh, c.kw, c.ci, 2])]);
          tf.dispose(out[1 - which]);
          return out[which];
        });
      }
    });
  }
});

describe('Tile / Sum / Mean fast paths and their fallbacks match cpu', () => {
  const rng = mulberry32(77);
  const tensorOf = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => {
    const data = randomData(sizeOf(shape), rng);
    return () =>
      dtype === 'int32'
        ? tf.tensor(
            Int32Array.from(data, (v) => Math.round(v * 100)),
            shape,
            'int32',
          )
        : tf.tensor(data, shape);
  };
  const asFloat = (t: tf.Tensor) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

  const tiles: Array<[number[], number[], 'float32' | 'int32']> = [
    [[1, 1, 1, 5], [2, 3, 4, 1], 'float32'], // batch-norm gradient: broadcastable
    [[3, 1, 5], [1, 4, 1], 'float32'],
    [[1, 1], [1, 1], 'float32'],
    [[4, 3, 1], [1, 1, 3], 'float32'], // grey -> RGB in preprocessing: one-element blocks
    [[2, 1, 5], [1, 3, 1], 'float32'], // a middle axis: block copies
    [[2, 1, 1, 3], [1, 2, 2, 1], 'float32'], // a run of two middle axes
    [[1, 1, 2], [3, 4, 1], 'float32'], // a leading run: doubling copies
    [[1, 3, 1], [2, 1, 2], 'float32'], // tiled axes around an untiled one: the broadcasting add
    [[2, 3], [2, 2], 'float32'], // not broadcastable: the original kernel
    [[1, 4], [3, 1], 'int32'], // int32: the original kernel
  ];
  for (const [shape, reps, dtype] of tiles) {
    test(`Tile ${shape.join('x')} ${dtype} by ${reps.join(',')}`, async () => {
      const make = tensorOf(shape, dtype);
      await assertSameOnBoth('Tile', () => tf.tidy(() => asFloat(tf.tile(make(), reps))));
    });
  }

  const reductions: Array<[number[], number | number[], boolean, 'float32' | 'int32']> = [
    [[4, 5, 6, 3], [0, 1, 2], false, 'float32'], // batch-norm statistics
    [[4, 5, 6, 3], [2, 0, 1], true, 'float32'], // unsorted axes, keepDims
    [[7, 3], 0, false, 'float32'], // bias gradient
    [[7, 3], [0], true, 'float32'],
    [[2, 3, 4], [1, 2], false, 'float32'], // not leading: the original kernel
    [[2, 3, 4], -1, false, 'float32'],
    [[2, 3, 4], [0, 1, 2], false, 'float32'], // every axis: the original kernel
    [[6, 4], 0, false, 'int32'],
    [[513, 2], 0, false, 'float32'], // a long leading axis
    [[6, 4, 13], [0, 1], false, 'float32'], // 13 columns: three SIMD vectors and a tail
    [[37, 8], 0, true, 'float32'],
    [[5, 1], 0, false, 'float32'],
  ];
  for (const [shape, axis, keepDims, dtype] of reductions) {
    for (const op of ['sum', 'mean'] as const) {
      test(`${op} of ${shape.join('x')} ${dtype} over ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`, async () => {
        const make = tensorOf(shape, dtype);
        await assertSameOnBoth(op, () => tf.tidy(() => asFloat(tf[op](make(), axis, keepDims))));
      });
    }
  }
});

describe('element-wise, batch-norm, pad, slice, identity and cast kernels (wasm-heap-kernels.ts) match cpu', () => {
  const rng = mulberry32(99);
  // Values on a coarse grid, so that ties with the compared bounds occur.
  const gridData = (n: number) => Float32Array.from({ length: n }, () => Math.round((rng() * 8 - 4) * 2) / 2);
  const float = (t: tf.Tensor) => tf.cast(t, 'float32');
  const compares = ['greaterEqual', 'lessEqual', 'greater', 'less'] as const;
  const shapes: Array<[number[], number[]]> = [
    [[37], []], // scalar bound on the right (the relu6 gradient), 2 vectors of 16 + a tail
    [[], [2, 3, 17]], // scalar on the left
    [[5], [1]], // shorter than one vector
    [[16], [16]], // same shape, exactly one vector
    [
      [2, 3, 17],
      [2, 3, 17],
    ],
    [[3, 4], [4]], // a real broadcast: the original kernel
  ];
  for (const cmp of compares) {
    for (const [sa, sb] of shapes) {
      test(`${cmp} ${sa.join('x') || 'scalar'} vs ${sb.join('x') || 'scalar'}`, async () => {
        const a = gridData(sizeOf(sa)),
          b = gridData(sizeOf(sb));
        if (b.length === 1) b[0] = 0.5; // a bound that the grid hits
        if (a.length > 3) a[3] = NaN; // NaN compares false
        await assertSameOnBoth(cmp, () => float(tf[cmp](tf.tensor(a, sa), tf.tensor(b, sb))));
      });
    }
  }
  test('int32 comparison: the original kernel', async () => {
    await assertSameOnBoth('int32', () => float(tf.lessEqual(tf.tensor1d([1, 5, -2, 7], 'int32'), tf.scalar(5, 'int32'))));
  });
  for (const [sa, sb] of [
    [[41], [41]],
    [
      [2, 19],
      [2, 19],
    ],
    [[3, 4], [4]],
  ] as Array<[number[], number[]]>) {
    test(`logicalAnd ${sa.join('x')} and ${sb.join('x')}`, async () => {
      const a = gridData(sizeOf(sa)),
        b = gridData(sizeOf(sb));
      await assertSameOnBoth('logicalAnd', () => float(tf.logicalAnd(tf.greater(tf.tensor(a, sa), 0), tf.greater(tf.tensor(b, sb), 0))));
    });
  }
  for (const [sc, st] of [
    [[37], [37]],
    [
      [2, 3, 17],
      [2, 3, 17],
    ],
    [[2], [2, 5]],
  ] as Array<[number[], number[]]>) {
    test(`where ${sc.join('x')} ? ${st.join('x')} : ${st.join('x')}`, async () => {
      const c = gridData(sizeOf(sc)),
        t = randomData(sizeOf(st), rng),
        e = randomData(sizeOf(st), rng);
      // The kernel itself: a rank-1 condition picking rows is its own case (the original kernel).
      await assertSameOnBoth(
        'where',
        () =>
          tf
            .engine()
            .runKernel('Select', { condition: tf.greater(tf.tensor(c, sc), 0), t: tf.tensor(t, st), e: tf.tensor(e, st) }) as tf.Tensor,
      );
    });
  }
  const norms: Array<[string, number[], number[] | null, boolean]> = [
    ['per channel, NHWC', [2, 5, 7, 6], [6], true],
    ['per channel, rank 2, no offset/scale', [9, 5], [5], false],
    ['one-element parameters', [3, 4, 2], [1], true],
    ['full-shape parameters: the original kernel', [2, 3], [2, 3], true],
  ];
  for (const [label, xs, ps, affine] of norms) {
    test(`batchNorm ${label}`, async () => {
      const x = randomData(sizeOf(xs), rng).map((v) => v * 3 + 1);
      const p = (off: number) => Float32Array.from({ length: sizeOf(ps!) }, (_, i) => off + 0.3 * Math.sin(i + off));
      await assertSameOnBoth('batchNorm', () =>
        tf.batchNorm(
          tf.tensor(x, xs),
          tf.tensor(p(1), ps!),
          tf.tensor(p(2), ps!),
          affine ? tf.tensor(p(0.5), ps!) : undefined,
          affine ? tf.tensor(p(1.5), ps!) : undefined,
          1e-3,
        ),
      );
    });
  }
  const pads: Array<[number[], Array<[number, number]>, number]> = [
    [
      [2, 5, 6, 3],
      [
        [0, 0],
        [0, 1],
        [0, 1],
        [0, 0],
      ],
      0,
    ], // Keras's correct_pad before a stride-2 conv
    [
      [2, 3, 4, 3],
      [
        [1, 2],
        [0, 0],
        [2, 1],
        [1, 0],
      ],
      1.5,
    ], // every axis, the channel axis too
    [[7], [[3, 2]], -1],
    [
      [2, 3],
      [
        [0, 0],
        [0, 0],
      ],
      0,
    ],
  ];
  for (const [xs, paddings, value] of pads) {
    test(`pad ${xs.join('x')} by ${JSON.stringify(paddings)} with ${value}`, async () => {
      const x = randomData(sizeOf(xs), rng);
      await assertSameOnBoth('pad', () => tf.pad(tf.tensor(x, xs), paddings, value));
    });
  }
  test('pad int32: the original kernel', async () => {
    await assertSameOnBoth('pad int32', () =>
      float(
        tf.pad(
          tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'),
          [
            [1, 0],
            [0, 1],
          ],
          7,
        ),
      ),
    );
  });
  const slices: Array<[number[], number[], number[]]> = [
    [
      [2, 6, 7, 3],
      [0, 0, 0, 0],
      [2, 5, 6, 3],
    ], // the gradient of Keras's correct_pad
    [
      [3, 4, 5, 6],
      [1, 1, 2, 1],
      [2, 2, 3, 4],
    ], // every axis cut, the channel axis too
    [
      [2, 3, 4, 3, 2],
      [0, 0, 0, 0, 1],
      [2, 3, 4, 3, 1],
    ], // only the last axis: runs of one value
    [
      [4, 50],
      [1, 3],
      [2, 40],
    ], // runs long enough to copy as subarrays
    [[9], [2], [-1]], // size -1: to the end
    [
      [3, 4],
      [0, 0],
      [3, 4],
    ], // the whole tensor
  ];
  for (const [xs, begin, size] of slices) {
    test(`slice ${xs.join('x')} from ${begin.join(',')} size ${size.join(',')}`, async () => {
      const x = randomData(sizeOf(xs), rng);
      await assertSameOnBoth('slice', () => tf.slice(tf.tensor(x, xs), begin, size));
    });
  }
  test('slice int32 and bool, and an empty slice', async () => {
    await assertSameOnBoth('slice int32', () => float(tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2])));
    await assertSameOnBoth('slice bool', () => float(tf.slice(tf.tensor2d([1, 0, 1, 1, 0, 0], [3, 2], 'bool'), [1, 0], [2, 1])));
    await assertSameOnBoth('slice empty', () => tf.slice(tf.tensor2d([1, 2, 3, 4], [2, 2]), [1, 0], [0, 2]));
  });
  test('Identity shares the data: a clone outlives its source and stays intact', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    const z = tf.add(y, 1); // new data: the shared buffer is not written
    assert.deepEqual(Array.from(await y.data()), [1, 2, 3]);
    assert.deepEqual(Array.from(await z.data()), [2, 3, 4]);
    tf.dispose([y, z]);
    assert.equal(tf.memory().numTensors, before);
  });
  test('Cast to the same dtype shares the data; to another dtype it converts (bool: x != 0, as on cpu)', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1.5, -2, 0]);
    const same = tf.engine().runKernel('Cast', { x }, { dtype: 'float32' }) as tf.Tensor;
    x.dispose();
    assert.deepEqual(Array.from(await same.data()), [1.5, -2, 0]);
    const asInt = tf.engine().runKernel('Cast', { x: same }, { dtype: 'int32' }) as tf.Tensor;
    const asBool = tf.engine().runKernel('Cast', { x: same }, { dtype: 'bool' }) as tf.Tensor;
    assert.deepEqual([asInt.dtype, asBool.dtype], ['int32', 'bool']);
    assert.deepEqual(Array.from(await asInt.data()), [1, -2, 0]);
    assert.deepEqual(Array.from(await asBool.data()), [1, 1, 0]);
    const intToBool = tf.engine().runKernel('Cast', { x: asInt }, { dtype: 'bool' }) as tf.Tensor;
    assert.deepEqual(Array.from(await intToBool.data()), [1, 1, 0]);
    tf.dispose([same, asInt, asBool, intToBool]);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('whole-model gradients match cpu', () => {
  // MobileNetV2's batch norm in training mode over a tiny batch at 1x1-2x2
  // spatial size is chaotic (a 1e-6 nudge of the weights moves its cpu
  // gradients by 1e-2), so it is compared with inference-mode batch norm:
  // every conv/depthwise gradient of the architecture, none of the chaos.
  // The custom CNN is compared in training mode (batch-norm statistics and
  // their gradients through the Sum/Mean/Tile fast paths included).
  const cases: Array<[string, () => tf.LayersModel, number, number, number, boolean, number]> = [
    [
      'custom CNN (training mode)',
      () => buildCustomCnn({ widths: [4, 8], convsPerBlock: [1, 2], dense: 8, seed: 3, dropout: 0, inputSize: 48 }),
      48,
      1,
      4,
      true,
      1e-3,
    ],
    [
      'MobileNetV2 at 64x64 (inference-mode batch norm)',
      () => buildMobileNetV2({ inputSize: 64, seed: 3, dropout: 0 }),
      64,
      3,
      2,
      false,
      TOL,
    ],
  ];
  for (const [name, build, size, channels, n, training, tol] of cases) {
    test(name, () => assertModelGradientsMatchCpu(name, build, size, channels, n, training, tol));
  }
});

describe("BatchMatMul with transposed operands (a dense layer's gradient) matches cpu", () => {
  const rng = mulberry32(321);
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[5, 7], [5, 3], true, false], // dW = x^T @ dy
    [[4, 3], [6, 3], false, true], // dx = dy @ W^T
    [[3, 4], [5, 3], true, true],
    [[2, 5, 3], [2, 4, 5], true, true], // batched
    [[1, 1], [1, 9], false, false], // plain: the original kernel
  ];
  for (const [sa, sb, ta, tb] of cases) {
    test(`${sa.join('x')}${ta ? '^T' : ''} @ ${sb.join('x')}${tb ? '^T' : ''}`, async () => {
      const a = randomData(sizeOf(sa), rng),
        b = randomData(sizeOf(sb), rng);
      await assertSameOnBoth('matMul', () => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb));
    });
  }
});

describe('MaxPoolGrad (wasm-heap-kernels.ts) matches cpu, ties included', () => {
  const rng = mulberry32(123);
  // Few distinct values: most windows hold ties, which must go to the first maximum (row-major), as on cpu.
  const tied = (n: number) => Float32Array.from({ length: n }, () => Math.round(rng() * 3));
  const cases: Array<[Shape4, number, number, Pad]> = [
    [[2, 8, 8, 5], 2, 2, 'valid'], // the custom CNN's pool
    [[1, 7, 9, 3], 2, 2, 'same'], // odd sizes, batch 1: padded last row/column
    [[1, 7, 9, 3], 2, 2, 'valid'], // odd sizes: last row/column dropped
    [[3, 5, 6, 17], 2, 2, 'same'],
    [[2, 7, 7, 4], 3, 2, 'same'], // overlapping windows: an input can take several dy
    [[1, 6, 5, 2], 3, 1, 'valid'],
  ];
  for (const [shape, f, s, pad] of cases) {
    for (const data of ['ties', 'random'] as const) {
      test(`${shape.join('x')} pool ${f}x${f}/${s} ${pad}, ${data}`, async () => {
        const x = data === 'ties' ? tied(sizeOf(shape)) : randomData(sizeOf(shape), rng);
        const yShape = tf.tidy(() => tf.maxPool(tf.zeros(shape) as tf.Tensor4D, f, s, pad).shape);
        const w = randomData(sizeOf(yShape), rng);
        await assertSameOnBoth(`maxPool grad ${shape.join('x')}`, () =>
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, f, s, pad), tf.tensor(w, yShape))))(tf.tensor(x, shape)),
        );
      });
    }
  }
  test('a window of only -Infinity passes nothing back (as on cpu)', async () => {
    const x = Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? -Infinity : i));
    await assertSameOnBoth('maxPool grad -Infinity', () =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.tensor(x, [1, 4, 4, 1])),
    );
  });
});

describe('no tensor leaks in a training step', () => {
  const cases: Array<[string, () => { model: tf.LayersModel; first: string | null; spec: typeof CNN_INPUT }]> = [
    ['custom CNN', () => ({ model: buildCustomCnn({ widths: [4, 8], convsPerBlock: [1, 1], dense: 8 }), first: null, spec: CNN_INPUT })],
    [
      'MobileNetV2, head on the frozen base',
      () => ({ model: buildMobileNetV2({ inputSize: 32 }), first: 'global_average_pooling2d', spec: mobilenetInput(32) }),
    ],
    [
      'MobileNetV2, fine-tuning from block 8',
      () => ({ model: buildMobileNetV2({ inputSize: 32 }), first: 'block_8_expand', spec: mobilenetInput(32) }),
    ],
    [
      'MobileNetV2 as the runs build it (inference-mode batch norm), fine-tuning from block 3',
      () => {
        const model = buildMobileNetV2({ inputSize: 32 });
        keepBatchNormInInference(model);
        return { model, first: 'block_3_expand', spec: mobilenetInput(32) };
      },
    ],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      await tf.setBackend('wasm');
      const { model, first, spec } = make();
      const split = splitModel(model, first);
      const opt = tf.train.adam(1e-3);
      const rng = mulberry32(1);
      const faces = new Float32Array(8 * FACE_PIXELS).map(() => rng() * 255);
      const labels = Int32Array.from({ length: 8 }, (_, i) => i % 7);
      const weights = new Array(7).fill(1);
      trainStep(split, opt, faces, labels, spec, weights, { smoothing: 0.1, focalGamma: 0 }); // creates the optimizer's slots
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) trainStep(split, opt, faces, labels, spec, weights, { smoothing: 0.1, focalGamma: 0 });
      assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked per step`);
      opt.dispose();
      model.dispose();
    });
  }
});

describe('a real training run on wasm learns', () => {
  let data: SyntheticFaces;
  before(async () => {
    data = await makeSyntheticFaces({ trainPerClass: 40, testPerClass: 10, folders: false, seed: 11 });
  });
  after(async () => {
    await data?.cleanup();
  });

  test('a small conv + depthwise (multiplier 2) net: loss falls, accuracy well above chance', async () => {
    await tf.setBackend('wasm');
    assert.equal(tf.getBackend(), 'wasm');
    // Every gradient kernel of wasm-gradients.ts is on this path: strided conv, depthwise
    // with multiplier 2 (both gradients), 1x1 conv, batch norm.
    const input = tf.input({ shape: [48, 48, 1] });
    let x = tf.layers
      .conv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .depthwiseConv2d({
        kernelSize: 3,
        strides: 2,
        depthMultiplier: 2,
        padding: 'valid',
        useBias: false,
        depthwiseInitializer: tf.initializers.heNormal({ seed: 2 }),
      })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: 16, kernelSize: 1, kernelInitializer: tf.initializers.heNormal({ seed: 3 }) })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 7, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })
      .apply(x) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });

    const train = data.splits.Training!;
    const val = data.splits.PublicTest!;
    const opt = tf.train.adam(3e-3);
    const weights = new Array(7).fill(1);
    const n = train.labels.length,
      batch = 16;
    const order = Array.from({ length: n }, (_, i) => i);
    const rng = mulberry32(3);
    const epochLoss: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let sum = 0;
      for (let b = 0; b < n; b += batch) {
        const idx = order.slice(b, b + batch);
        const faces = new Float32Array(idx.length * FACE_PIXELS);
        idx.forEach((k, i) => faces.set(train.pixels.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), i * FACE_PIXELS));
        const { loss } = trainStep(
          { bottom: null, top: model },
          opt,
          faces,
          Int32Array.from(idx, (k) => train.labels[k]),
          FULL_SIZE_GREY,
          weights,
          { smoothing: 0, focalGamma: 0 },
        );
        sum += loss * idx.length;
      }
      epochLoss.push(sum / n);
    }
    const r = await evaluateSplit(model, FULL_SIZE_GREY, makeSplit(val.pixels, val.labels));
    opt.dispose();
    model.dispose();
    assert.ok(epochLoss.every(Number.isFinite), `loss not finite: ${epochLoss}`);
    assert.ok(epochLoss[4] < epochLoss[0] * 0.7, `loss did not fall: ${epochLoss.map((l) => l.toFixed(3)).join(' ')}`);
    assert.ok(
      r.accuracy > 0.4,
      `validation accuracy ${r.accuracy.toFixed(3)} (chance 0.143), losses ${epochLoss.map((l) => l.toFixed(3)).join(' ')}`,
    );
  });
});
