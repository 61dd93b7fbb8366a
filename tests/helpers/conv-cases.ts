/**
 * Convolution cases and the cpu comparison shared by the kernel tests (wasm's own
 * kernels, and the OpenBLAS ones that replace them where the addon is built).
 */
import assert from 'node:assert/strict';
import { tf } from '../../src/tf/backend.js';
import { mulberry32 } from '../../src/training/random.js';
import { randomData, relError } from './numeric.js';

export const TOL = 1e-4;
export type Shape4 = [number, number, number, number];
export type Pad = 'same' | 'valid';

export const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `fn` on a backend and returns its output values and shape (inputs are re-created there). */
export async function on(backend: 'cpu' | 'wasm', fn: () => tf.Tensor): Promise<{ data: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const t = tf.tidy(fn);
  const out = { data: Float32Array.from(await t.data()), shape: t.shape };
  t.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend}: tensors leaked`);
  return out;
}

/** The same computation on cpu and on wasm must agree to TOL. */
export async function assertSameOnBoth(label: string, fn: () => tf.Tensor, tol = TOL): Promise<void> {
  const ref = await on('cpu', fn);
  const got = await on('wasm', fn);
  assert.deepEqual(got.shape, ref.shape, `${label}: shape`);
  const err = relError(got.data, ref.data);
  assert.ok(err <= tol, `${label}: relative error ${err.toExponential(2)} > ${tol}`);
  for (const v of got.data) assert.ok(Number.isFinite(v), `${label}: non-finite value`);
  await tf.setBackend('wasm');
}

export interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  stride: [number, number];
  pad: Pad;
}

export const describeCase = (c: ConvCase) =>
  `x ${c.n}x${c.h}x${c.w}x${c.ci}, k ${c.kh}x${c.kw}, out/mult ${c.co}, stride ${c.stride.join('x')}, ${c.pad}`;

/** Hand-picked cases: odd sizes, stride 2 with a leftover row, batch 1, 1x1, MobileNetV2's pad-then-valid. */
export const EDGE_CASES: ConvCase[] = [
  { n: 1, h: 7, w: 9, ci: 3, co: 4, kh: 3, kw: 3, stride: [2, 2], pad: 'same' },
  { n: 1, h: 7, w: 9, ci: 3, co: 4, kh: 3, kw: 3, stride: [2, 2], pad: 'valid' },
  { n: 2, h: 10, w: 10, ci: 2, co: 2, kh: 3, kw: 3, stride: [2, 2], pad: 'valid' },
  { n: 2, h: 11, w: 11, ci: 4, co: 3, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 3, h: 9, w: 7, ci: 4, co: 3, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
  { n: 1, h: 8, w: 8, ci: 5, co: 6, kh: 1, kw: 1, stride: [1, 1], pad: 'same' },
  { n: 2, h: 9, w: 9, ci: 3, co: 2, kh: 1, kw: 1, stride: [2, 2], pad: 'valid' },
  { n: 2, h: 11, w: 10, ci: 3, co: 4, kh: 5, kw: 5, stride: [2, 2], pad: 'same' },
  { n: 1, h: 12, w: 12, ci: 2, co: 2, kh: 2, kw: 2, stride: [2, 2], pad: 'same' },
  { n: 2, h: 9, w: 13, ci: 3, co: 2, kh: 3, kw: 1, stride: [2, 1], pad: 'same' },
  { n: 1, h: 13, w: 13, ci: 2, co: 2, kh: 3, kw: 3, stride: [2, 2], pad: 'valid' }, // Keras: pad 12 -> 13, then valid
  // Channel counts past one SIMD vector (4 lanes + a tail) for the depthwise filter gradient.
  { n: 2, h: 9, w: 8, ci: 9, co: 4, kh: 3, kw: 3, stride: [2, 2], pad: 'same' },
  { n: 1, h: 6, w: 7, ci: 16, co: 7, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
  // 3x3 stride-1 convs as the custom CNN's (im2col filter gradient: co >= 64 or ci < 4; explicitly padded input gradient), odd sizes.
  { n: 2, h: 7, w: 9, ci: 17, co: 65, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 1, h: 6, w: 5, ci: 6, co: 64, kh: 3, kw: 3, stride: [1, 1], pad: 'valid' },
  { n: 1, h: 5, w: 4, ci: 3, co: 33, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  // 3x3 stride-1 'same' with 16+ channels in and out: the addon's Winograd route. Even and odd maps (partial
  // tiles), channel counts on and off its 8 lanes, a one-row map, and 48x47 maps of one image per chunk.
  { n: 3, h: 6, w: 6, ci: 32, co: 24, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 1, h: 5, w: 3, ci: 16, co: 19, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 2, h: 1, w: 4, ci: 20, co: 16, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  { n: 2, h: 48, w: 47, ci: 16, co: 17, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
  // Pointwise (1x1, stride 1): the matrix-product routes, narrower input and narrower output.
  { n: 2, h: 5, w: 7, ci: 7, co: 3, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' },
  { n: 1, h: 3, w: 3, ci: 2, co: 9, kh: 1, kw: 1, stride: [1, 1], pad: 'same' },
];

export function randomCases(count: number, seed: number): ConvCase[] {
  const rng = mulberry32(seed);
  const pick = <T>(items: T[]) => items[Math.floor(rng() * items.length)];
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const k = pick([1, 3, 3, 5]);
    const s = pick([1, 2]);
    const c: ConvCase = {
      n: pick([1, 1, 2, 3]),
      h: k + Math.floor(rng() * 10),
      w: k + Math.floor(rng() * 10),
      ci: 1 + Math.floor(rng() * 5),
      co: 1 + Math.floor(rng() * 5),
      kh: k,
      kw: k,
      stride: [s, s],
      pad: pick(['same', 'valid'] as Pad[]),
    };
    cases.push(c);
  }
  return cases;
}

export const ALL_CASES = [...EDGE_CASES, ...randomCases(14, 2024)];

export function convOutShape(c: ConvCase, depthwise: boolean): Shape4 {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], c.stride, 1, c.pad, undefined, depthwise);
  return [c.n, info.outHeight, info.outWidth, depthwise ? c.ci * c.co : c.co];
}

export function kernelInputs(c: ConvCase, depthwise: boolean, seed: number) {
  const rng = mulberry32(seed);
  const xShape: Shape4 = [c.n, c.h, c.w, c.ci];
  const fShape: Shape4 = [c.kh, c.kw, c.ci, c.co];
  const dyShape = convOutShape(c, depthwise);
  return {
    xShape,
    fShape,
    dyShape,
    x: randomData(sizeOf(xShape), rng),
    f: randomData(sizeOf(fShape), rng),
    dy: randomData(sizeOf(dyShape), rng),
  };
}

/** The Conv2DBackpropFilter kernel on the current backend, for one case's inputs. */
export function filterGradient(c: ConvCase, d: ReturnType<typeof kernelInputs>): tf.Tensor {
  return tf
    .engine()
    .runKernel(
      'Conv2DBackpropFilter',
      { x: tf.tensor4d(d.x, d.xShape), dy: tf.tensor4d(d.dy, d.dyShape) },
      { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: d.fShape },
    ) as tf.Tensor;
}

/** The DepthwiseConv2dNativeBackpropFilter / ...Input kernels on the current backend, for one depthwise case's inputs. */
export function depthwiseGradient(of: 'filter' | 'input', c: ConvCase, d: ReturnType<typeof kernelInputs>): tf.Tensor {
  const attrs = { strides: c.stride, pad: c.pad, dilations: [1, 1] };
  const dy = tf.tensor4d(d.dy, d.dyShape);
  return (
    of === 'filter'
      ? tf
          .engine()
          .runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(d.x, d.xShape), dy }, { ...attrs, filterShape: d.fShape })
      : tf
          .engine()
          .runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: tf.tensor4d(d.f, d.fShape) }, { ...attrs, inputShape: d.xShape })
  ) as tf.Tensor;
}

/** The trainer's loss (cross-entropy of softmax outputs) for a batch. */
function lossOf(model: tf.LayersModel, x: tf.Tensor, labels: Int32Array, training: boolean): tf.Scalar {
  const probs = model.apply(x, { training }) as tf.Tensor;
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 7);
  return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), 1))) as tf.Scalar;
}

/**
 * The gradients of every trainable weight of a model built by `build` (the same starting
 * weights on both backends), on cpu and on wasm, agree per weight tensor to `tol`.
 */
export async function assertModelGradientsMatchCpu(
  name: string,
  build: () => tf.LayersModel,
  size: number,
  channels: number,
  n: number,
  training: boolean,
  tol: number,
): Promise<void> {
  const rng = mulberry32(5);
  const x = randomData(n * size * size * channels, rng);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % 7);
  // Identical starting weights on both backends: the cpu model's initial ones.
  await tf.setBackend('cpu');
  const init = build();
  const snapshot = await Promise.all(init.getWeights().map(async (w) => ({ data: Float32Array.from(await w.data()), shape: w.shape })));
  init.dispose();
  const grads = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const model = build();
    model.setWeights(snapshot.map((w) => tf.tensor(w.data, w.shape)));
    const { value, grads: g } = tf.variableGrads(
      () => lossOf(model, tf.tensor4d(x, [n, size, size, channels]), labels, training),
      model.trainableWeights.map((v) => v.read() as tf.Variable),
    );
    const out = await Promise.all(Object.values(g).map(async (t) => Float32Array.from(await t.data())));
    tf.dispose([value, ...Object.values(g)]);
    model.dispose();
    return out;
  };
  const ref = await grads('cpu');
  const got = await grads('wasm');
  assert.equal(got.length, ref.length);
  ref.forEach((r, i) => {
    // Per weight tensor, relative to its largest gradient; an absolute floor
    // for gradients that are zero in exact arithmetic (a beta before batch norm).
    let diff = 0,
      scale = 0;
    for (let k = 0; k < r.length; k++) {
      diff = Math.max(diff, Math.abs(got[i][k] - r[k]));
      scale = Math.max(scale, Math.abs(r[k]));
    }
    assert.ok(diff <= tol * scale + 1e-6, `${name}: weight ${i}: max difference ${diff.toExponential(2)}, scale ${scale.toExponential(2)}`);
  });
}
