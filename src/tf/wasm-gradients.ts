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
 *  - depthwise filter gradient = kh*kw shifted products summed over batch/space.
 *
 * The kernel functions call TF.js ops; nested ops inside a kernel are not taped
 * (engine.isTapeOn requires kernelDepth 0) and tidy() frees the intermediates.
 */
import * as tf from '@tensorflow/tfjs';

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
    const t = Math.max(0, -top), b = Math.max(0, -bottom), l = Math.max(0, -left), r = Math.max(0, -right);
    y = tf.slice(y, [0, t, l, 0], [n, h - t - b, w - l - r, c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    y = tf.pad(y, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  }
  return y;
}

/** Inserts stride-1 zeros between the rows and columns of an NHWC tensor. */
function zeroUpsample(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(spread, [n, h * sh, w * sw, c]);
}

/**
 * Shared part of both input gradients: upsample dy by the stride, pad it so a
 * stride-1 'valid' correlation with a kh x kw kernel gives back H x W.
 */
function prepareInputGradient(dy: tf.Tensor4D, inH: number, inW: number, kh: number, kw: number,
  sh: number, sw: number, pad: Pad): tf.Tensor4D {
  const up = zeroUpsample(dy, sh, sw);
  const top = kh - 1 - pad.top, left = kw - 1 - pad.left;
  const bottom = inH + kh - 1 - up.shape[1] - top;
  const right = inW + kw - 1 - up.shape[2] - left;
  return padOrCrop(up, top, bottom, left, right);
}

function conv2DBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  attrs: ConvAttrs): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [kh, kw] = filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
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

function conv2DBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number],
  attrs: ConvAttrs): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const [kh, kw] = filter.shape;
  return tf.tidy(() => {
    const dyp = prepareInputGradient(dy, inputShape[1], inputShape[2], kh, kw, info.strideHeight, info.strideWidth, info.padInfo);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(dyp, flipped, 1, 'valid');
  });
}

function depthwiseBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number],
  attrs: ConvAttrs): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, true);
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

function depthwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  attrs: ConvAttrs): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, true);
  const [kh, kw, c, m] = filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const n = x.shape[0];
  const taps = kh * kw;
  return tf.tidy(() => {
    // Extract every tap's input window at once with a forward depthwise conv
    // whose filter is one-hot per tap (channel multiplier = kh*kw): fast on
    // XNNPACK, where strided slicing is a slow generic loop.
    const bottom = kh + (oh - 1) * sh - x.shape[1] - padInfo.top;
    const right = kw + (ow - 1) * sw - x.shape[2] - padInfo.left;
    const xp = padOrCrop(x, padInfo.top, bottom, padInfo.left, right);
    const onehot = tf.tile(tf.reshape(tf.eye(taps), [kh, kw, 1, taps]), [1, 1, c, 1]) as tf.Tensor4D;
    const patches = tf.depthwiseConv2d(xp, onehot, [sh, sw], 'valid');
    if (m === 1) {
      const prod = tf.mul(tf.reshape(patches, [n * oh * ow, c, taps]), tf.reshape(dy, [n * oh * ow, c, 1]));
      return tf.reshape(tf.transpose(tf.reshape(sumLeading(prod, 1), [c, taps])), [kh, kw, c, 1]);
    }
    // Channel multiplier > 1: per input channel, patches^T (taps x P) @ dy (P x m).
    const p = tf.transpose(tf.reshape(patches, [n * oh * ow, c, taps]), [1, 0, 2]) as tf.Tensor3D;
    const d = tf.transpose(tf.reshape(dy, [n * oh * ow, c, m]), [1, 0, 2]) as tf.Tensor3D;
    const dw = tf.matMul(p, d, true, false); // [c, taps, m]
    return tf.reshape(tf.transpose(dw, [1, 0, 2]), [kh, kw, c, m]);
  });
}

/**
 * Sums over the first `axes` axes as a matrix product ones[1,P] @ x[P,rest]:
 * wasm's Sum transposes reduced axes to the end first, a slow generic loop.
 */
function sumLeading(x: tf.Tensor, axes: number): tf.Tensor {
  const p = x.shape.slice(0, axes).reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(axes);
  const flat = tf.reshape(x, [1, p, rest.reduce((a, b) => a * b, 1)]) as tf.Tensor3D;
  return tf.reshape(tf.matMul(tf.ones([1, 1, p]) as tf.Tensor3D, flat), rest);
}

/** Sum/Mean over leading axes (batch-norm statistics and bias gradients) via sumLeading. */
function makeFastReduce(fallback: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.Tensor;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading || axes.length === 0 || axes.length === x.rank) return fallback(args);
    return tf.tidy(() => {
      let y = sumLeading(x, axes.length);
      if (mean) y = tf.div(y, x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1));
      return keepDims ? tf.reshape(y, x.shape.map((d, i) => (i < axes.length ? 1 : d))) : y;
    });
  };
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

let registered = false;

/** The wasm backend's own kernels that ours replaced (the benchmark times them against ours). */
export const originalWasmKernels = new Map<string, tf.KernelConfig>();

/** Registers (or replaces) the conv gradient kernels of the wasm backend. Idempotent. */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: Array<[string, tf.KernelFunc]> = [
    ['Conv2DBackpropFilter', ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number]; dataFormat?: string };
      checkChannelsLast('Conv2DBackpropFilter', a.dataFormat);
      return conv2DBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, a.filterShape, a);
    }],
    ['Conv2DBackpropInput', ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number]; dataFormat?: string };
      checkChannelsLast('Conv2DBackpropInput', a.dataFormat);
      return conv2DBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, a.inputShape, a);
    }],
    ['DepthwiseConv2dNativeBackpropInput', ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      assertNoDilation('DepthwiseConv2dNativeBackpropInput', a.dilations);
      return depthwiseBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, a.inputShape, a);
    }],
    ['DepthwiseConv2dNativeBackpropFilter', ({ inputs, attrs }) => {
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
      assertNoDilation('DepthwiseConv2dNativeBackpropFilter', a.dilations);
      return depthwiseBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, a.filterShape, a);
    }],
  ];
  const tile = tf.getKernel('Tile', BACKEND);
  if (tile) kernels.push(['Tile', makeFastTile(tile.kernelFunc)]);
  const sum = tf.getKernel('Sum', BACKEND);
  if (sum) kernels.push(['Sum', makeFastReduce(sum.kernelFunc, false)]);
  const meanK = tf.getKernel('Mean', BACKEND);
  if (meanK) kernels.push(['Mean', makeFastReduce(meanK.kernelFunc, true)]);
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
  'Conv2DBackpropFilter', 'Conv2DBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput',
] as const;

// Exported for the kernel tests and the benchmark.
export const impl = { conv2DBackpropFilter, conv2DBackpropInput, depthwiseBackpropInput, depthwiseBackpropFilter };
