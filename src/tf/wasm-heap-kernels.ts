/**
 * wasm kernels that work directly on the tensors' memory in the wasm heap.
 *
 * Profiling a MobileNetV2 training step on wasm showed these built-in kernels
 * far slower than their memory traffic warrants: compare/logical/select and
 * batch norm take a generic broadcasting path (4-9 ns per element for a
 * scalar or per-channel operand), Identity copies every tensor the gradient
 * tape saves and Cast every tensor that keeps its dtype (the cpu backend
 * shares the data instead), reductions over the leading axes transpose
 * first, Tile loops element by element, and the depthwise filter gradient had
 * no kernel at all. Here they are one pass each: SIMD loops (wasm-simd.ts),
 * block copies, one XNNPACK call, or a reference count.
 *
 * Every kernel falls back to the original one for shapes/dtypes it does not
 * handle (or when the SIMD module cannot load). Sums accumulate in float64,
 * as the cpu backend does.
 */
import * as tf from '@tensorflow/tfjs';
import { simdOps, type SimdOps } from './wasm-simd.js';

type TensorInfo = tf.TensorInfo;
type HeapArray = Float32Array | Int32Array | Uint8Array;

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
/**
 * The internals of @tensorflow/tfjs-backend-wasm that these kernels use (not its public API): its
 * version is pinned exactly in package.json, and tests/unit/wasm-kernels.test.ts fails if one goes missing.
 */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): HeapArray;
  incRef(dataId: unknown): void;
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
}

/** Byte address of a tensor's data in the wasm heap. */
const ptr = (backend: WasmBackend, t: TensorInfo): number => backend.dataIdMap.get(t.dataId)!.memoryOffset;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Allocates the output, then views inputs and output. The order matters:
 * allocating may grow the wasm memory, which detaches views taken before.
 */
function withOutput(
  backend: WasmBackend,
  shape: number[],
  dtype: tf.DataType,
  inputs: TensorInfo[],
): { out: TensorInfo; outView: HeapArray; views: HeapArray[] } {
  const out = backend.makeOutput(shape, dtype);
  return { out, outView: backend.typedArrayFromHeap(out), views: inputs.map((t) => backend.typedArrayFromHeap(t)) };
}

const wasmOf = (args: { backend: unknown }) => args.backend as WasmBackend;

/** Identity shares the data (a reference count), as the cpu backend does; wasm's copies it. */
export function makeIdentity(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string') return fallback(args);
    wasmOf(args).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * Cast to the same dtype (the gradient of every tensor the tape saved, and
 * relu's gradient) shares the data, as the cpu backend does; wasm's copies it.
 * Cast to bool is x != 0: wasm's typed-array copy would store -2 as 254.
 */
export function makeCast(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const dtype = (args.attrs as unknown as { dtype: tf.DataType }).dtype;
    if (x.dtype === 'string') return fallback(args);
    if (x.dtype === dtype) {
      wasmOf(args).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    }
    if (dtype !== 'bool') return fallback(args);
    const { out, outView, views } = withOutput(wasmOf(args), [...x.shape], 'bool', [x]);
    const xv = views[0];
    for (let i = 0; i < xv.length; i++) outView[i] = xv[i] !== 0 ? 1 : 0;
    return out;
  };
}

/** Sum/Mean over the leading axes (batch-norm and bias gradients): SIMD column sums in float64. */
export function makeLeadingReduce(fallback: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis ?? [], x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i);
    const simd = simdOps(args.backend);
    if (!simd || x.dtype !== 'float32' || !leading || axes.length === 0 || axes.length === x.shape.length) return fallback(args);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const rest = x.shape.slice(axes.length);
    const cols = sizeOf(rest);
    const backend = wasmOf(args);
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32');
    const acc = simd.scratch(cols);
    try {
      simd.colsum(ptr(backend, x), rows, cols, acc);
      const sums = new Float64Array(simd.memory.buffer, acc, cols);
      const o = backend.typedArrayFromHeap(out) as Float32Array;
      const scale = mean ? 1 / rows : 1;
      for (let c = 0; c < cols; c++) o[c] = sums[c] * scale;
    } finally {
      simd.free(acc);
    }
    return out;
  };
}

/**
 * Tile of a run of consecutive size-1 axes: the batch-norm gradient tiles
 * [1,1,1,C] over [N,H,W,1], the preprocessing repeats the grey channel
 * [N,H,W,1] three times. With the run merged into one axis of r copies,
 * out[o, k, :] = x[o, :] for k < r: block copies (a memcpy), doubling copies
 * when nothing precedes the run, a wasm loop for one-element blocks.
 */
export function makeAxisTile(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    const tiled = reps.flatMap((r, i) => (r !== 1 ? [i] : []));
    if (x.dtype !== 'float32' || reps.length !== x.shape.length || tiled.length === 0) return fallback(args);
    const first = tiled[0],
      last = tiled[tiled.length - 1];
    if (x.shape.slice(first, last + 1).some((d) => d !== 1)) return fallback(args);
    const r = sizeOf(reps.slice(first, last + 1));
    const outer = sizeOf(x.shape.slice(0, first)),
      block = sizeOf(x.shape.slice(last + 1));
    const simd = simdOps(args.backend);
    if (block === 1 && !simd) return fallback(args);
    const backend = wasmOf(args);
    const { out, outView, views } = withOutput(
      backend,
      x.shape.map((d, i) => d * reps[i]),
      'float32',
      [x],
    );
    const o = outView as Float32Array,
      xv = views[0] as Float32Array;
    if (block === 1) {
      simd!.repeat(ptr(backend, x), ptr(backend, out), outer, r);
    } else if (outer === 1) {
      // Leading case: copy once, then double what is filled.
      o.set(xv, 0);
      for (let filled = block; filled < o.length; filled *= 2) o.copyWithin(filled, 0, Math.min(filled, o.length - filled));
    } else {
      for (let i = 0; i < outer; i++) {
        const src = xv.subarray(i * block, (i + 1) * block);
        for (let k = 0; k < r; k++) o.set(src, (i * r + k) * block);
      }
    }
    return out;
  };
}

/**
 * PadV2 (constant padding; Keras's ZeroPadding2D before every stride-2 conv of
 * MobileNetV2): fill with the constant, then copy the input in contiguous runs
 * (each run spans the last padded axis and everything after it).
 */
export function makePad(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { paddings, constantValue } = args.attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank === 0 || paddings.length !== rank || paddings.some(([a, b]) => a < 0 || b < 0)) return fallback(args);
    const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    const { out, outView, views } = withOutput(wasmOf(args), shape, 'float32', [x]);
    const o = outView as Float32Array,
      xv = views[0] as Float32Array;
    if (xv.length === 0) {
      o.fill(constantValue);
      return out;
    }
    // Axes after `last` are unpadded: a run of x is contiguous in the output too.
    let last = 0;
    paddings.forEach(([a, b], i) => {
      if (a || b) last = i;
    });
    const run = sizeOf(x.shape.slice(last));
    const outStrides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
    const base = paddings.reduce((acc, [a], i) => acc + a * outStrides[i], 0);
    const idx = new Array<number>(last).fill(0);
    // Runs land in increasing order: only the gaps between them are padding, written once.
    let filled = 0;
    for (let src = 0; src < xv.length; src += run) {
      let dst = base;
      for (let i = 0; i < last; i++) dst += idx[i] * outStrides[i];
      o.fill(constantValue, filled, dst);
      o.set(xv.subarray(src, src + run), dst);
      filled = dst + run;
      for (let i = last - 1; i >= 0; i--) {
        if (++idx[i] < x.shape[i]) break;
        idx[i] = 0;
      }
    }
    o.fill(constantValue, filled);
    return out;
  };
}

/**
 * Slice as block copies, the inverse of makePad: the axes after the last one cut are whole, so each run
 * of them is contiguous in both tensors. The gradient of Keras's ZeroPadding2D (MobileNetV2 has four)
 * slices [N,H+1,W+1,C] to [N,H,W,C]: N*H copies of W*C values, where wasm's own kernel makes a
 * subarray for every one of the N*H*W innermost rows.
 */
export function makeSlice(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string' || x.shape.length === 0) return fallback(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const { out, outView, views } = withOutput(wasmOf(args), s, x.dtype, [x]);
    const xv = views[0];
    if (outView.length === 0) return out;
    let last = -1;
    x.shape.forEach((d, i) => {
      if (b[i] !== 0 || s[i] !== d) last = i;
    });
    if (last < 0) {
      outView.set(xv);
      return out;
    }
    const run = sizeOf(s.slice(last));
    const xStrides = x.shape.map((_, i) => sizeOf(x.shape.slice(i + 1)));
    const base = b.reduce((acc, bi, i) => acc + bi * xStrides[i], 0);
    const idx = new Array<number>(last).fill(0);
    for (let dst = 0; dst < outView.length; dst += run) {
      let src = base;
      for (let i = 0; i < last; i++) src += idx[i] * xStrides[i];
      // A short run is cheaper copied value by value than through a new subarray.
      if (run < 32) for (let k = 0; k < run; k++) outView[dst + k] = xv[src + k];
      else outView.set(xv.subarray(src, src + run), dst);
      for (let i = last - 1; i >= 0; i--) {
        if (++idx[i] < s[i]) break;
        idx[i] = 0;
      }
    }
    return out;
  };
}

/**
 * FusedBatchNorm (inference-mode batch norm, and the frozen base) with
 * per-channel (or scalar) parameters: y = x * k + b with k = scale /
 * sqrt(variance + epsilon), b = offset - mean * k, computed in float64 per
 * channel and applied as a 1x1 depthwise convolution with bias, one XNNPACK
 * pass (0.2 ns per element here against 3.5-9 for the built-in kernel).
 */
export function makeBatchNorm(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.Tensor | undefined>;
    const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
    if (!x || !mean || !variance || x.dtype !== 'float32' || x.shape.length === 0) return fallback(args);
    const c = x.shape[x.shape.length - 1];
    const params = [mean, variance, offset, scale].filter((t): t is tf.Tensor => t != null);
    if (c === 0 || !params.every((t) => t.dtype === 'float32' && (t.size === c || t.size === 1))) return fallback(args);
    const backend = wasmOf(args);
    const view = (t: tf.Tensor | undefined) => (t ? (backend.typedArrayFromHeap(t) as Float32Array) : null);
    const [mv, vv, ov, sv] = [mean, variance, offset, scale].map(view);
    const at = (v: Float32Array | null, i: number, none: number) => (v == null ? none : v.length === 1 ? v[0] : v[i]);
    const k = new Float32Array(c),
      b = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      const ki = at(sv, i, 1) / Math.sqrt(at(vv, i, 1) + eps);
      k[i] = ki;
      b[i] = at(ov, i, 0) - at(mv, i, 0) * ki;
    }
    return tf.tidy(() => {
      const x4 = tf.reshape(x, [1, 1, x.size / c, c]) as tf.Tensor4D;
      const y = tf.fused.depthwiseConv2d({ x: x4, filter: tf.tensor4d(k, [1, 1, c, 1]), bias: tf.tensor1d(b), strides: 1, pad: 'valid' });
      return tf.reshape(y, x.shape);
    });
  };
}

type Compare = 'GreaterEqual' | 'LessEqual' | 'Greater' | 'Less';
const CMP_OP = { GreaterEqual: 'ge', LessEqual: 'le', Greater: 'gt', Less: 'lt' } as const;
/** a OP b == b MIRROR(OP) a: for a one-element left operand. */
const MIRROR = { ge: 'le', le: 'ge', gt: 'lt', lt: 'gt' } as const;

/**
 * Float comparisons for equal shapes or a one-element operand (the
 * relu6/clipByValue gradient compares with a scalar bound): bool bytes 0/1.
 */
export function makeCompare(kind: Compare, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const simd = simdOps(args.backend);
    if (!simd || a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = sizeOf(shape),
      sa = sizeOf(a.shape),
      sb = sizeOf(b.shape);
    const same = sa === size && sb === size;
    if (!same && !(sa === size && sb === 1) && !(sb === size && sa === 1)) return fallback(args);
    const backend = wasmOf(args);
    const out = backend.makeOutput(shape, 'bool');
    const cmp = CMP_OP[kind];
    if (same) {
      simd.cmpVector[cmp](ptr(backend, a), ptr(backend, b), ptr(backend, out), size);
    } else if (sb === 1) {
      simd.cmpScalar[cmp](ptr(backend, a), backend.typedArrayFromHeap(b)[0], ptr(backend, out), size);
    } else {
      simd.cmpScalar[MIRROR[cmp]](ptr(backend, b), backend.typedArrayFromHeap(a)[0], ptr(backend, out), size);
    }
    return out;
  };
}

/** LogicalAnd of two bool tensors of one shape. */
export function makeLogicalAnd(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const simd = simdOps(args.backend);
    const size = sizeOf(a.shape);
    if (!simd || a.dtype !== 'bool' || b.dtype !== 'bool' || !tf.util.arraysEqual(a.shape, b.shape)) return fallback(args);
    const backend = wasmOf(args);
    const out = backend.makeOutput([...a.shape], 'bool');
    simd.and(ptr(backend, a), ptr(backend, b), ptr(backend, out), size);
    return out;
  };
}

/** Select (tf.where) with condition, t and e all of one shape. */
export function makeSelect(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { condition, t, e } = args.inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
    const simd = simdOps(args.backend);
    if (
      !simd ||
      t.dtype !== 'float32' ||
      e.dtype !== 'float32' ||
      condition.dtype !== 'bool' ||
      !tf.util.arraysEqual(condition.shape, t.shape) ||
      !tf.util.arraysEqual(e.shape, t.shape)
    )
      return fallback(args);
    const backend = wasmOf(args);
    const out = backend.makeOutput([...t.shape], 'float32');
    simd.select(ptr(backend, condition), ptr(backend, t), ptr(backend, e), ptr(backend, out), sizeOf(t.shape));
    return out;
  };
}

/** A kernel of our own (wasm only): dy where lo <= x <= hi, else 0. */
export const RANGE_GRADIENT = 'RangeGradient';

/** RANGE_GRADIENT: inputs x, dy (float32, one shape), attrs lo, hi; one SIMD pass. */
export function rangeGradient(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { lo, hi } = args.attrs as unknown as { lo: number; hi: number };
  const simd = simdOps(args.backend);
  if (!simd || x.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(x.shape, dy.shape))
    throw new Error(`${RANGE_GRADIENT}: float32 x and dy of one shape, and the SIMD kernels, are needed`);
  const backend = wasmOf(args);
  const out = backend.makeOutput([...x.shape], 'float32');
  simd.rangeGrad(ptr(backend, x), ptr(backend, dy), ptr(backend, out), sizeOf(x.shape), lo, hi);
  return out;
}

/**
 * Depthwise filter gradient, dW[a, b, c, m] = sum over n, i, j of
 * x[n, i*sh + a - top, j*sw + b - left, c] * dy[n, i, j, c*M + m]
 * (taps falling in the padding contribute nothing), accumulated in float64.
 */
export function depthwiseFilterGradient(
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const [kh, kw, c, mult] = filterShape;
  const [n, h, w] = x.shape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const cm = c * mult;
  const simd = simdOps(backend);
  if (simd && mult === 1) return depthwiseFilterGradientSimd(simd, backend, x, dy, filterShape, info);
  const { out, outView, views } = withOutput(backend, [kh, kw, c, mult], 'float32', [x, dy]);
  const xv = views[0] as Float32Array,
    dv = views[1] as Float32Array;
  const acc = new Float64Array(kh * kw * cm);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const dyRow = (b * oh + i) * ow * cm;
      for (let a = 0; a < kh; a++) {
        const r = i * sh + a - top;
        if (r < 0 || r >= h) continue;
        const xRow = (b * h + r) * w * c;
        for (let j = 0; j < ow; j++) {
          const dyo = dyRow + j * cm;
          for (let q = 0; q < kw; q++) {
            const col = j * sw + q - left;
            if (col < 0 || col >= w) continue;
            const xo = xRow + col * c;
            const ko = (a * kw + q) * cm;
            if (mult === 1) {
              for (let k = 0; k < c; k++) acc[ko + k] += xv[xo + k] * dv[dyo + k];
            } else {
              for (let k = 0; k < c; k++) {
                const xk = xv[xo + k];
                for (let m = 0; m < mult; m++) acc[ko + k * mult + m] += xk * dv[dyo + k * mult + m];
              }
            }
          }
        }
      }
    }
  }
  (outView as Float32Array).set(acc);
  return out;
}

/** The channel-multiplier-1 case (MobileNetV2) with SIMD rows: same sums, float64 accumulators. */
function depthwiseFilterGradientSimd(
  simd: SimdOps,
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  filterShape: [number, number, number, number],
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const [kh, kw, c] = filterShape;
  const [n, h, w] = x.shape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput([kh, kw, c, 1], 'float32');
  const acc = simd.scratch(kh * kw * c);
  try {
    const xp = ptr(backend, x),
      dyp = ptr(backend, dy);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const dyRow = dyp + (b * oh + i) * ow * c * 4;
        for (let a = 0; a < kh; a++) {
          const r = i * sh + a - top;
          if (r < 0 || r >= h) continue;
          simd.dwRow(xp + (b * h + r) * w * c * 4, dyRow, acc + a * kw * c * 8, ow, kw, sw, left, w, c);
        }
      }
    }
    (backend.typedArrayFromHeap(out) as Float32Array).set(new Float64Array(simd.memory.buffer, acc, kh * kw * c));
  } finally {
    simd.free(acc);
  }
  return out;
}

/**
 * MaxPoolGrad (the custom CNN's 2x2 pools; wasm's built-in took ~80 ms per
 * call at batch 64 in a profile): one pass that finds each window's argmax and
 * adds dy there. Ties go to the first maximum in row-major window order and
 * windows of only -Infinity/NaN pass nothing back, as the cpu backend's
 * maxPoolPositions (`pixel > maxValue` from -Infinity) decides them. Channels
 * are the inner loop so every read is contiguous. Dilation falls back.
 */
export function makeMaxPoolGrad(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4) return fallback(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || !tf.util.arraysEqual(dy.shape, info.outShape)) return fallback(args);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const backend = wasmOf(args);
    const { out, outView, views } = withOutput(backend, [...input.shape], 'float32', [input, dy]);
    const dx = outView as Float32Array,
      xv = views[0] as Float32Array,
      dv = views[1] as Float32Array;
    dx.fill(0);
    if (fh === 2 && fw === 2 && sh === 2 && sw === 2) {
      const simd = simdOps(backend);
      if (simd && top === 0 && left === 0) {
        // Full windows by SIMD rows; a partial last row/column ('same', odd size) in JS.
        const fullRows = Math.min(oh, Math.floor(h / 2)),
          fullCols = Math.min(ow, Math.floor(w / 2));
        const xp = ptr(backend, input),
          dyp = ptr(backend, dy),
          dxp = ptr(backend, out);
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < fullRows; i++) {
            const r0 = (b * h + 2 * i) * w * c * 4,
              r1 = r0 + w * c * 4;
            simd.pool2x2Row(xp + r0, xp + r1, dyp + (b * oh + i) * ow * c * 4, dxp + r0, dxp + r1, fullCols, c);
          }
        }
        if (fullRows < oh || fullCols < ow) pool2x2Grad(xv, dv, dx, n, h, w, c, oh, ow, top, left, fullRows, fullCols);
        return out;
      }
      pool2x2Grad(xv, dv, dx, n, h, w, c, oh, ow, top, left, 0, 0);
      return out;
    }
    const maxV = new Float32Array(c),
      maxAt = new Int32Array(c);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const r0 = Math.max(0, i * sh - top),
          r1 = Math.min(h, i * sh - top + fh);
        for (let j = 0; j < ow; j++) {
          const c0 = Math.max(0, j * sw - left),
            c1 = Math.min(w, j * sw - left + fw);
          maxV.fill(-Infinity);
          maxAt.fill(-1);
          for (let r = r0; r < r1; r++) {
            for (let q = c0; q < c1; q++) {
              const base = ((b * h + r) * w + q) * c;
              for (let k = 0; k < c; k++) {
                const v = xv[base + k];
                if (v > maxV[k]) {
                  maxV[k] = v;
                  maxAt[k] = base + k;
                }
              }
            }
          }
          const dyBase = ((b * oh + i) * ow + j) * c;
          for (let k = 0; k < c; k++) {
            const at = maxAt[k];
            if (at >= 0) dx[at] += dv[dyBase + k];
          }
        }
      }
    }
    return out;
  };
}

/**
 * The two per-channel sums the batch-norm gradient needs, over every position
 * of x and dy ([..., C] float32, mean [C]): sum(dy) and sum(dy * (x - mean)),
 * in one SIMD pass with float64 accumulators (bn_grad_sums). TF.js's gradient
 * builds them from full-size Sub/Mul tensors and one Sum each.
 */
export function batchNormGradSums(
  backend: WasmBackend,
  simd: SimdOps,
  x: TensorInfo,
  dy: TensorInfo,
  mean: TensorInfo,
): [TensorInfo, TensorInfo] {
  const cols = mean.shape[0];
  const rows = sizeOf(x.shape) / cols;
  const sumDy = backend.makeOutput([cols], 'float32'),
    sumDyXmu = backend.makeOutput([cols], 'float32');
  const acc = simd.scratch(2 * cols);
  try {
    simd.bnGradSums(ptr(backend, x), ptr(backend, dy), ptr(backend, mean), rows, cols, acc);
    const sums = new Float64Array(simd.memory.buffer, acc, 2 * cols);
    (backend.typedArrayFromHeap(sumDy) as Float32Array).set(sums.subarray(0, cols));
    (backend.typedArrayFromHeap(sumDyXmu) as Float32Array).set(sums.subarray(cols));
  } finally {
    simd.free(acc);
  }
  return [sumDy, sumDyXmu];
}

/**
 * The transposed patch matrix of a stride-1 conv, colT[(a, b, c), p] =
 * x[n, i + a - top, j + b - left, c] for output position p = (n, i, j), zero
 * where the tap falls in the padding: [kh*kw*C, N*oh*ow], written straight
 * into the wasm heap for the filter-gradient GEMM (wasm-gradients.ts).
 * x is first transposed channel-major (in blocks, so reads stay in cache);
 * every row of colT is then contiguous runs copied from contiguous runs.
 * Writing colT straight from NHWC x (stride N*oh*ow, or strided reads) ran
 * 2-5x slower on the custom CNN's 12x12x128 and 24x24x32 inputs.
 * With the SIMD module both passes run in wasm (transpose, patch_t); the JS
 * loops are the fallback (`simd` null).
 */
export function patchMatrixT(
  backend: WasmBackend,
  x: TensorInfo,
  kh: number,
  kw: number,
  oh: number,
  ow: number,
  top: number,
  left: number,
  simd: SimdOps | null = simdOps(backend),
): TensorInfo {
  const [n, h, w, c] = x.shape;
  const P = n * oh * ow,
    nhw = n * h * w;
  if (simd) {
    const out = backend.makeOutput([kh * kw * c, P], 'float32');
    const xT = c === 1 ? ptr(backend, x) : simd.alloc(nhw * c * 4);
    try {
      if (c > 1) simd.transpose(ptr(backend, x), xT, nhw, c);
      simd.patchT(xT, ptr(backend, out), n, h, w, c, kh, kw, oh, ow, top, left);
    } finally {
      if (c > 1) simd.free(xT);
    }
    return out;
  }
  const { out, outView, views } = withOutput(backend, [kh * kw * c, P], 'float32', [x]);
  const col = outView as Float32Array,
    xv = views[0] as Float32Array;
  const xT = channelMajor(xv, nhw, c);
  col.fill(0);
  for (let a = 0; a < kh; a++) {
    for (let q = 0; q < kw; q++) {
      const j0 = Math.max(0, left - q),
        j1 = Math.min(ow, w + left - q);
      if (j1 <= j0) continue;
      for (let k = 0; k < c; k++) {
        const rowBase = ((a * kw + q) * c + k) * P;
        const chan = k * nhw + q - left;
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < oh; i++) {
            const r = i + a - top;
            if (r < 0 || r >= h) continue;
            const dst = rowBase + (b * oh + i) * ow,
              src = chan + (b * h + r) * w;
            for (let j = j0; j < j1; j++) col[dst + j] = xT[src + j];
          }
        }
      }
    }
  }
  return out;
}

/** [positions, c] -> [c, positions], in blocks of positions that fit in cache. */
function channelMajor(xv: Float32Array, positions: number, c: number): Float32Array {
  if (c === 1) return xv;
  const xT = new Float32Array(positions * c);
  const block = Math.max(16, Math.floor(16384 / c));
  for (let p0 = 0; p0 < positions; p0 += block) {
    const p1 = Math.min(positions, p0 + block);
    for (let k = 0; k < c; k++) {
      const to = k * positions;
      for (let p = p0; p < p1; p++) xT[to + p] = xv[p * c + k];
    }
  }
  return xT;
}

/**
 * MaxPoolGrad's 2x2 stride-2 case (the custom CNN's every pool) in JS, for
 * the windows the SIMD rows (pool2x2_row in kernels.wat) leave, or all of
 * them without SIMD: windows do not overlap, so each dy lands on one input.
 * Taps outside the input (odd sizes, 'same') read -Infinity, which never wins.
 */
function pool2x2Grad(
  xv: Float32Array,
  dv: Float32Array,
  dx: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  top: number,
  left: number,
  doneRows: number,
  doneCols: number,
): void {
  const rowStep = w * c;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const r = 2 * i - top;
      const hasR0 = r >= 0,
        hasR1 = r + 1 < h;
      // Windows in rows < doneRows and columns < doneCols are done (SIMD).
      for (let j = i < doneRows ? doneCols : 0; j < ow; j++) {
        const q = 2 * j - left;
        const hasC0 = q >= 0,
          hasC1 = q + 1 < w;
        const o00 = ((b * h + r) * w + q) * c,
          o01 = o00 + c,
          o10 = o00 + rowStep,
          o11 = o10 + c;
        const ok00 = hasR0 && hasC0,
          ok01 = hasR0 && hasC1,
          ok10 = hasR1 && hasC0,
          ok11 = hasR1 && hasC1;
        const dyBase = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          // Row-major order with a strict '>': the first maximum wins, as on cpu.
          let m = -Infinity,
            at = -1;
          if (ok00 && xv[o00 + k] > m) {
            m = xv[o00 + k];
            at = o00 + k;
          }
          if (ok01 && xv[o01 + k] > m) {
            m = xv[o01 + k];
            at = o01 + k;
          }
          if (ok10 && xv[o10 + k] > m) {
            m = xv[o10 + k];
            at = o10 + k;
          }
          if (ok11 && xv[o11 + k] > m) {
            at = o11 + k;
          }
          if (at >= 0) dx[at] = dv[dyBase + k];
        }
      }
    }
  }
}
