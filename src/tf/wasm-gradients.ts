/**
 * Gradient kernels for the wasm backend, built from its fast forward kernels.
 *
 * TF.js's wasm backend registers no Conv2DBackpropFilter and no depthwise
 * backprop kernels (tfjs issue #8474), and its Conv2DBackpropInput is a slow
 * scalar loop. Every one of them can be written as a forward convolution (which
 * wasm runs through XNNPACK) or a few element-wise passes:
 *
 *  - filter gradient of a conv = a forward conv of the input (batch and channel
 *    axes swapped) with the output gradient as the filter, dilated by the stride;
 *  - input gradient of a conv = a forward conv of the (zero-upsampled) output
 *    gradient with the spatially flipped, in/out-transposed filter;
 *  - for 1x1 stride-1 convs (all of MobileNetV2's pointwise layers) both are
 *    single matrix products, which XNNPACK runs 3-20x faster than the above;
 *  - depthwise filter gradient = kh*kw shifted products summed over batch/space,
 *    SIMD loops over the wasm heap (wasm-heap-kernels.ts, wasm-simd.ts);
 *  - stride-1 filter gradient (the custom CNN's 3x3 convs) = one GEMM of the
 *    transposed patch matrix (im2col) with dy, where that measured faster.
 * A profile of the custom CNN's step (48x48, batch 64) also showed MaxPoolGrad
 * (~65 ms per call), Reverse of the filter and transposed matMuls (the dense
 * layers' gradients) slow on wasm: they are replaced too.
 *
 * The kernel functions call TF.js ops; nested ops inside a kernel are not taped
 * (engine.isTapeOn requires kernelDepth 0) and tidy() frees the intermediates.
 * wasm-heap-kernels.ts replaces further built-in kernels that a profile of a
 * MobileNetV2 step showed slow (Identity/Cast copies, batch norm, compare/select,
 * Sum/Mean/Tile, PadV2). Batch norm's gradient function is replaced too, for
 * wasm only (makeBatchNormGrad): its per-channel sums in one SIMD pass.
 */
import * as tf from '@tensorflow/tfjs';
import {
  batchNormGradSums,
  depthwiseFilterGradient,
  makeAxisTile,
  makeBatchNorm,
  makeCast,
  makeCompare,
  makeIdentity,
  makeLeadingReduce,
  makeLogicalAnd,
  makeMaxPoolGrad,
  makePad,
  makeSelect,
  makeSlice,
  RANGE_GRADIENT,
  rangeGradient,
  patchMatrixT,
  type WasmBackend,
} from './wasm-heap-kernels.js';
import { simdOps } from './wasm-simd.js';

type Pad = tf.backend_util.PadInfo;
type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
};

const BACKEND = 'wasm';

function pair(v: number | [number, number] | undefined): [number, number] {
  if (v == null) return [1, 1];
  return typeof v === 'number' ? [v, v] : v;
}

function assertNoDilation(kernel: string, dilations: number | [number, number] | undefined): void {
  const [dh, dw] = pair(dilations);
  if (dh !== 1 || dw !== 1) throw new Error(`${kernel} on wasm: dilations > 1 are not supported`);
}

/** Pads (positive) or crops (negative) the two spatial axes of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = x.shape;
    const t = Math.max(0, -top),
      b = Math.max(0, -bottom),
      l = Math.max(0, -left),
      r = Math.max(0, -right);
    y = tf.slice(y, [0, t, l, 0], [n, h - t - b, w - l - r, c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ]);
  }
  return y;
}

/** Inserts stride-1 zeros between the rows and columns of an NHWC tensor. */
function zeroUpsample(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [n, h * sh, w * sw, c]);
}

/**
 * Shared part of both input gradients: upsample dy by the stride, pad it so a
 * stride-1 'valid' correlation with a kh x kw kernel gives back H x W.
 */
function prepareInputGradient(
  dy: tf.Tensor4D,
  inH: number,
  inW: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  pad: Pad,
): tf.Tensor4D {
  const up = zeroUpsample(dy, sh, sw);
  const top = kh - 1 - pad.top,
    left = kw - 1 - pad.left;
  const bottom = inH + kh - 1 - up.shape[1] - top;
  const right = inW + kw - 1 - up.shape[2] - left;
  return padOrCrop(up, top, bottom, left, right);
}

/** A 1x1 conv with stride 1 and no padding: a matrix product over the N*H*W positions. */
function isPointwise(kh: number, kw: number, info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return (
    kh === 1 &&
    kw === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    p.top === 0 &&
    p.bottom === 0 &&
    p.left === 0 &&
    p.right === 0
  );
}

/**
 * dW[ci, co] = X[P, ci]^T @ dY[P, co]. XNNPACK multiplies row-major A by a
 * packed B, so the narrower of the two operands is transposed into A (a cheap
 * copy) and the other packed: matMul with transposeA is a slow generic loop.
 */
function pointwiseFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number]): tf.Tensor4D {
  const [, , ci, co] = filterShape;
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [-1, ci]) as tf.Tensor2D;
    const d2 = tf.reshape(dy, [-1, co]) as tf.Tensor2D;
    const dw = ci <= co ? tf.matMul(tf.transpose(x2), d2) : tf.transpose(tf.matMul(tf.transpose(d2), x2));
    return tf.reshape(dw, filterShape);
  });
}

/**
 * Stride-1 filter gradient (the custom CNN's 3x3 'same' convs) as one GEMM:
 * dW[(a, b, ci), co] = colT[(a, b, ci), P] @ dY[P, co], colT the transposed
 * patch matrix (patchMatrixT), which is already the filter's layout. The
 * swapped forward conv below feeds XNNPACK a "filter" as large as the image
 * and ran at a fraction of its forward speed (e.g. ~300 against ~210-230 ms
 * here for 12x12, 128->128, batch 64; 48x48, 1->32: ~95 against ~28); the
 * GEMM runs at about the forward conv's FLOP rate. colT, the wide operand,
 * is the row-major A: XNNPACK packs B, and transposeA is a slow generic loop.
 */
function im2colFilterGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  info: tf.backend_util.Conv2DInfo,
  backend: WasmBackend,
): tf.Tensor4D {
  const [kh, kw, , co] = filterShape;
  const { outHeight: oh, outWidth: ow, padInfo } = info;
  return tf.tidy(() => {
    const colT = tf.engine().makeTensorFromTensorInfo(patchMatrixT(backend, x, kh, kw, oh, ow, padInfo.top, padInfo.left)) as tf.Tensor2D;
    const dy2 = tf.reshape(dy, [-1, co]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(colT, dy2), filterShape) as tf.Tensor4D;
  });
}

/** Stride 1 and no dilation: the case im2colFilterGradient handles. */
function isStrideOne(info: tf.backend_util.Conv2DInfo): boolean {
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
}

function conv2DBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
  backend?: WasmBackend,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [kh, kw] = filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  if (isPointwise(kh, kw, info)) return pointwiseFilterGradient(x, dy, filterShape);
  // The GEMM's width is co: at 32 (the custom CNN's 24x24x32 -> 32 conv) it measured ~10% slower than the
  // swapped conv, at 64 and above 10-30% faster; from 1-3 channels (the first conv) 3-8x faster.
  const [, , ci, co] = filterShape;
  if (backend && isStrideOne(info) && x.dtype === 'float32' && (co >= 64 || ci < 4))
    return im2colFilterGradient(x, dy, filterShape, info, backend);
  return tf.tidy(() => {
    // Correlate each input channel (as a batch item) with each output channel's
    // gradient map (as a filter over the N axis): dW[ci, a, b, co].
    const bottom = kh + (oh - 1) * sh - x.shape[1] - padInfo.top;
    const right = kw + (ow - 1) * sw - x.shape[2] - padInfo.left;
    const xp = padOrCrop(x, padInfo.top, bottom, padInfo.left, right);
    const xT = tf.transpose(xp, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const dw = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]);
    return tf.transpose(dw, [1, 2, 0, 3]);
  });
}

/**
 * The filter spatially flipped with in/out channels swapped, [kh, kw, co, ci],
 * in one JS pass over a copy: wasm's Reverse took ~11 ms per call on the
 * custom CNN's 3x3x256x256 filters, more than this whole copy.
 */
function flipTransposeFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  if (filter.dtype !== 'float32') return tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
  const src = filter.dataSync() as Float32Array;
  const dst = new Float32Array(src.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const from = (a * kw + b) * ci * co,
        to = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o];
    }
  }
  return tf.tensor4d(dst, [kh, kw, co, ci]);
}

function conv2DBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [kh, kw] = filter.shape;
  if (isPointwise(kh, kw, info)) {
    // dx[P, ci] = dy[P, co] @ W[ci, co]^T, with W transposed explicitly (small):
    // wasm's matMul with transposeB is a slow generic loop.
    return tf.tidy(() => {
      const [, , ci, co] = filter.shape;
      const dx = tf.matMul(tf.reshape(dy, [-1, co]) as tf.Tensor2D, tf.transpose(tf.reshape(filter, [ci, co])) as tf.Tensor2D);
      return tf.reshape(dx, inputShape);
    });
  }
  return tf.tidy(() => {
    const flipped = flipTransposeFilter(filter);
    // Padding only (no crop): let XNNPACK pad inside the conv rather than copy
    // dy into a padded tensor first (~6 ms per call in the custom CNN).
    const up = zeroUpsample(dy, info.strideHeight, info.strideWidth);
    const top = kh - 1 - info.padInfo.top,
      left = kw - 1 - info.padInfo.left;
    const bottom = inputShape[1] + kh - 1 - up.shape[1] - top,
      right = inputShape[2] + kw - 1 - up.shape[2] - left;
    if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) {
      return tf.conv2d(up, flipped, 1, [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ]);
    }
    const dyp = prepareInputGradient(dy, inputShape[1], inputShape[2], kh, kw, info.strideHeight, info.strideWidth, info.padInfo);
    return tf.conv2d(dyp, flipped, 1, 'valid');
  });
}

function depthwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attrs: ConvAttrs,
): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true);
  const [kh, kw, c, m] = filter.shape;
  return tf.tidy(() => {
    const flipped = tf.reverse(filter, [0, 1]);
    const dyp = prepareInputGradient(dy, inputShape[1], inputShape[2], kh, kw, info.strideHeight, info.strideWidth, info.padInfo);
    if (m === 1) return tf.depthwiseConv2d(dyp, flipped, 1, 'valid');
    // Channel multiplier > 1: output channel c*m + j comes from input channel c.
    const [n, h, w] = dyp.shape;
    const split = tf.reshape(dyp, [n, h, w, c, m]);
    let sum: tf.Tensor4D | null = null;
    for (let j = 0; j < m; j++) {
      const part = tf.reshape(tf.slice(split, [0, 0, 0, 0, j], [n, h, w, c, 1]), [n, h, w, c]) as tf.Tensor4D;
      const f = tf.slice(flipped, [0, 0, 0, j], [kh, kw, c, 1]);
      const term = tf.depthwiseConv2d(part, f, 1, 'valid');
      sum = sum === null ? term : (tf.add(sum, term) as tf.Tensor4D);
    }
    return sum as tf.Tensor4D;
  });
}

function depthwiseBackpropFilter(
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  attrs: ConvAttrs,
  backend: unknown,
): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return depthwiseFilterGradient(backend as WasmBackend, x, dy, filterShape, info);
}

/**
 * Tile for wasm where every tiled axis has size 1 (the batch-norm gradient
 * tiles [1,1,1,C] over [N,H,W,1]): a broadcasting add, one XNNPACK pass,
 * instead of the generic per-element Tile loop.
 */
function makeFastTile(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.Tensor;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    const broadcastable = x.dtype === 'float32' && x.shape.every((d, i) => reps[i] === 1 || d === 1);
    if (!broadcastable) return fallback(args);
    return tf.tidy(() => tf.add(x, tf.zeros(reps.map((r, i) => (x.shape[i] === 1 ? r : 1)))));
  };
}

/**
 * BatchMatMul with transposeA/transposeB (every dense layer's gradient: dx =
 * dy @ W^T, dW = x^T @ dy) runs a slow generic loop on wasm, ~35 ms per call
 * for the custom CNN's 2304x256 layer at batch 64; XNNPACK only takes the
 * plain product. Transposing the flagged operand first (one copy, as large as
 * the operand) and multiplying plainly gives the same sums.
 */
function makePlainMatMul(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const plain = a.dtype === 'float32' && b.dtype === 'float32' && a.rank >= 2 && b.rank >= 2;
    if ((!transposeA && !transposeB) || !plain) return fallback(args);
    const lastTwo = (t: tf.Tensor) =>
      tf.transpose(
        t,
        [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i)),
      );
    return tf.tidy(() => tf.matMul(transposeA ? lastTwo(a) : a, transposeB ? lastTwo(b) : b));
  };
}

/**
 * The gradient of FusedBatchNorm (every training-mode batch norm) on wasm:
 * TF.js's builds ten full-size Sub/Mul/Tile tensors and four Sums for what is
 * two per-channel sums, s1 = sum(dy), s2 = sum(dy * (x - mean)), and one
 * per-channel multiply dx = dy * k, k = scale / sqrt(variance + eps):
 * d mean = -k * s1, d variance = -k * s2 / (2 (variance + eps)), d scale =
 * s2 / sqrt(variance + eps), d offset = s1. The sums are one SIMD pass
 * (batchNormGradSums); other backends, and shapes other than per-channel
 * parameters, keep TF.js's gradient.
 */
function makeBatchNormGrad(original: tf.GradConfig): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const simd = tf.getBackend() === BACKEND ? simdOps(tf.backend()) : null;
      const c = mean.size;
      const perChannel = (t: tf.Tensor | undefined) => t == null || (t.rank === 1 && t.size === c && t.dtype === 'float32');
      const fast =
        simd != null &&
        !Array.isArray(dy) &&
        dy.dtype === 'float32' &&
        x.dtype === 'float32' &&
        tf.util.arraysEqual(dy.shape, x.shape) &&
        x.shape[x.rank - 1] === c &&
        perChannel(mean) &&
        perChannel(variance) &&
        perChannel(scale);
      if (!fast) return original.gradFunc(dy, saved, attrs);
      const g = dy as tf.Tensor;
      const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
      const [s1, s2] = batchNormGradSums(tf.backend() as unknown as WasmBackend, simd, x, g, mean).map(
        (t) => tf.engine().makeTensorFromTensorInfo(t) as tf.Tensor1D,
      );
      const rs = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
      const k = scale == null ? rs : tf.mul(rs, scale);
      return {
        x: () => tf.mul(g, k),
        mean: () => tf.neg(tf.mul(k, s1)),
        variance: () => tf.mul(tf.mul(tf.mul(k, tf.square(rs)), tf.scalar(-0.5)), s2),
        scale: () => tf.mul(rs, s2),
        offset: () => s1,
      };
    },
  };
}

/**
 * The gradients of Sum and Mean (batch norm's statistics in training mode, the losses)
 * multiply dy by a tensor of ones as large as the input, which TF.js fills in a JS
 * loop and copies into the heap: a quarter of a 48x48 CNN step's time in one profile.
 * On wasm, dy is broadcast instead (the Tile fast path): the same values, with
 * Mean's division done on the small tensor first.
 */
function makeReduceGrad(original: tf.GradConfig, mean: boolean): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (tf.getBackend() !== BACKEND || Array.isArray(dy) || dy.dtype !== 'float32' || x.dtype !== 'float32')
        return original.gradFunc(dy, saved, attrs);
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return { x: () => tf.broadcastTo(tf.reshape(mean ? tf.div(dy, count) : dy, expanded), x.shape) };
    },
  };
}

/** The least positive float32: for a float32 x, x > 0 exactly when x >= this. */
const LEAST_POSITIVE = 2 ** -149;

/**
 * The gradients of Relu, Relu6 and ClipByValue on wasm: dy where x lies in the op's range, else 0, in one
 * SIMD pass (RANGE_GRADIENT). TF.js builds it from a step and a multiply (Relu), or from two comparisons,
 * an and, zeros and a select (ClipByValue: every relu6 of a Keras MobileNetV2, which also runs a Relu
 * before it): six full-size passes per activation, and the tensors between them.
 */
function makeRangeGrad(original: tf.GradConfig, range: (attrs: tf.NamedAttrMap) => [number, number]): tf.GradConfig {
  return {
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      if (
        tf.getBackend() !== BACKEND ||
        Array.isArray(dy) ||
        dy.dtype !== 'float32' ||
        x.dtype !== 'float32' ||
        !tf.util.arraysEqual(x.shape, dy.shape) ||
        !simdOps(tf.backend())
      )
        return original.gradFunc(dy, saved, attrs);
      const [lo, hi] = range(attrs);
      return { x: () => tf.engine().runKernel(RANGE_GRADIENT, { x, dy }, { lo, hi }) as tf.Tensor };
    },
  };
}

let registered = false;

/** The wasm backend's own kernels that ours replaced (the benchmark times them against ours). */
export const originalWasmKernels = new Map<string, tf.KernelConfig>();

/** Registers (or replaces) the conv gradient kernels of the wasm backend. Idempotent. */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: Array<[string, tf.KernelFunc]> = [
    [
      'Conv2DBackpropFilter',
      ({ inputs, attrs, backend }) => {
        const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number]; dataFormat?: string };
        checkChannelsLast('Conv2DBackpropFilter', a.dataFormat);
        return conv2DBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, a.filterShape, a, backend as WasmBackend);
      },
    ],
    [
      'Conv2DBackpropInput',
      ({ inputs, attrs }) => {
        const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number]; dataFormat?: string };
        checkChannelsLast('Conv2DBackpropInput', a.dataFormat);
        return conv2DBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, a.inputShape, a);
      },
    ],
    [
      'DepthwiseConv2dNativeBackpropInput',
      ({ inputs, attrs }) => {
        const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
        assertNoDilation('DepthwiseConv2dNativeBackpropInput', a.dilations);
        return depthwiseBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, a.inputShape, a);
      },
    ],
    [
      'DepthwiseConv2dNativeBackpropFilter',
      ({ inputs, attrs, backend }) => {
        const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
        assertNoDilation('DepthwiseConv2dNativeBackpropFilter', a.dilations);
        return depthwiseBackpropFilter(inputs.x as tf.TensorInfo, inputs.dy as tf.TensorInfo, a.filterShape, a, backend);
      },
    ],
  ];
  // Built-in kernels replaced by faster ones that fall back to them.
  const wrapped: Array<[string, (fallback: tf.KernelFunc) => tf.KernelFunc]> = [
    ['Identity', makeIdentity],
    ['Cast', makeCast],
    ['Tile', (f) => makeAxisTile(makeFastTile(f))],
    ['PadV2', makePad],
    ['Slice', makeSlice],
    ['Sum', (f) => makeLeadingReduce(f, false)],
    ['Mean', (f) => makeLeadingReduce(f, true)],
    ['FusedBatchNorm', makeBatchNorm],
    ['GreaterEqual', (f) => makeCompare('GreaterEqual', f)],
    ['LessEqual', (f) => makeCompare('LessEqual', f)],
    ['Greater', (f) => makeCompare('Greater', f)],
    ['Less', (f) => makeCompare('Less', f)],
    ['LogicalAnd', makeLogicalAnd],
    ['Select', makeSelect],
    ['MaxPoolGrad', makeMaxPoolGrad],
    ['BatchMatMul', makePlainMatMul],
  ];
  for (const [name, wrap] of wrapped) {
    const original = tf.getKernel(name, BACKEND);
    if (original) kernels.push([name, wrap(original.kernelFunc)]);
  }
  kernels.push([RANGE_GRADIENT, rangeGradient as tf.KernelFunc]);
  const ranges: Array<[string, (attrs: tf.NamedAttrMap) => [number, number]]> = [
    ['Relu', () => [LEAST_POSITIVE, Infinity]],
    ['Relu6', () => [LEAST_POSITIVE, 6]],
    ['ClipByValue', (a) => [a.clipValueMin as number, a.clipValueMax as number]],
  ];
  for (const [name, range] of ranges) {
    const grad = tf.getGradient(name);
    if (grad) tf.registerGradient(makeRangeGrad(grad, range));
  }
  const bnGrad = tf.getGradient('FusedBatchNorm');
  if (bnGrad) tf.registerGradient(makeBatchNormGrad(bnGrad));
  for (const [name, mean] of [
    ['Sum', false],
    ['Mean', true],
  ] as const) {
    const grad = tf.getGradient(name);
    if (grad) tf.registerGradient(makeReduceGrad(grad, mean));
  }
  for (const [kernelName, kernelFunc] of kernels) {
    const old = tf.getKernel(kernelName, BACKEND);
    if (old) originalWasmKernels.set(kernelName, old);
    if (old) tf.unregisterKernel(kernelName, BACKEND);
    // Keep the original setup function: it binds the wasm exports a fallback may call.
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc: old?.setupFunc });
  }
}

function checkChannelsLast(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports NHWC only, got ${dataFormat}`);
  }
}

export const wasmGradientKernelNames = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
] as const;

/** The built-in wasm kernels replaced by faster ones (wasm-heap-kernels.ts and makeFastTile). */
export const replacedWasmKernelNames = [
  'BatchMatMul',
  'Cast',
  'Conv2DBackpropInput',
  'FusedBatchNorm',
  'Greater',
  'GreaterEqual',
  'Identity',
  'Less',
  'LessEqual',
  'LogicalAnd',
  'MaxPoolGrad',
  'Mean',
  'PadV2',
  'Select',
  'Slice',
  'Sum',
  'Tile',
] as const;
