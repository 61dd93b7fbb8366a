/**
 * Convolutions and matrix products of the wasm backend on the CPU's own BLAS.
 *
 * XNNPACK inside wasm is limited to 128-bit SIMD; OpenBLAS uses the machine's
 * AVX2 or AVX-512 and runs the same products several times faster (measured:
 * docs/performance.md). The optional addon in src/tf/native/ (built at
 * install time where OpenBLAS and a C compiler are present) works on the
 * tensors' own memory in the wasm heap, so the wasm backend keeps everything
 * else: element-wise kernels, memory management, the model code. Where the
 * addon is absent (or EKSPRESI_NATIVE=0), or for a case it does not handle
 * (dilation, NCHW, other activations), the wasm kernels run as before.
 * Depthwise convolutions (MobileNetV2's) need no BLAS; the addon runs them as
 * plain loops on the CPU's widest vectors (measured: docs/performance.md).
 */
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { WasmBackend } from './wasm-heap-kernels.js';

/** The addon's functions (src/tf/native/blas-kernels.c). */
export interface NativeBlas {
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, geom: Int32Array, bias: Float32Array | null, act: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
  depthwiseConv2d(x: Float32Array, w: Float32Array, out: Float32Array, geom: Int32Array, bias: Float32Array | null, act: number): void;
  depthwiseBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  depthwiseBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
  gemm(a: Float32Array, b: Float32Array, out: Float32Array, dims: Int32Array, bias: Float32Array | null, act: number): void;
  setThreads(n: number): void;
  coreName(): string;
}

const BACKEND = 'wasm';
const ADDON = './native/build/Release/blas_kernels.node';
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };
/** The kernels replaced; each falls back to the one registered before it. */
export const nativeKernelNames = [
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'BatchMatMul',
  '_FusedMatMul',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2D',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
] as const;

type TensorInfo = tf.TensorInfo;
type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
};

/**
 * OpenBLAS 0.3.21 (Debian 12's) takes AMD's AVX-512 CPUs (Zen 4) for AVX2 ones; its
 * SkylakeX kernels ran 1.5-2x faster here. The core is chosen when the library loads,
 * so this is the value to give OPENBLAS_CORETYPE then (a value the user set is kept),
 * and only where the CPU has every AVX-512 set those kernels use.
 */
function avx512Core(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux') return undefined;
  let flags: string[] = [];
  try {
    flags = (/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/);
  } catch {
    return undefined;
  }
  return ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.includes(f)) ? 'SkylakeX' : undefined;
}

/** The addon, or null where it was not built or is switched off (EKSPRESI_NATIVE=0). */
export function loadNativeBlas(threads: number): NativeBlas | null {
  if (process.env.EKSPRESI_NATIVE === '0') return null;
  // Read by OpenBLAS when it loads, and only then; set for that moment, so that child
  // processes inherit the user's environment, not ours. One thread per run by default:
  // a pool of its own would fight the run's other work for the cores.
  const atLoad: Record<string, string | undefined> = { OPENBLAS_NUM_THREADS: String(threads), OPENBLAS_CORETYPE: avx512Core() };
  const set = Object.keys(atLoad).filter((k) => process.env[k] == null && atLoad[k] != null);
  for (const k of set) process.env[k] = atLoad[k];
  try {
    const blas = createRequire(import.meta.url)(ADDON) as NativeBlas;
    blas.setThreads(threads);
    return blas;
  } catch {
    return null;
  } finally {
    for (const k of set) delete process.env[k];
  }
}

const pair = (v: number | [number, number] | undefined): [number, number] => (v == null ? [1, 1] : typeof v === 'number' ? [v, v] : v);
const channelsLast = (f: string | undefined) => f == null || f === 'NHWC' || f === 'channelsLast';
const f32 = (...ts: Array<TensorInfo | undefined>) => ts.every((t) => t == null || t.dtype === 'float32');

/** Geometry in the addon's order, or null for what it does not handle (dilation, NCHW). */
function geometry(xShape: number[], filterShape: number[], a: ConvAttrs): { geom: Int32Array; out: number[] } | null {
  if (!channelsLast(a.dataFormat)) return null;
  const [dh, dw] = pair(a.dilations);
  if (dh !== 1 || dw !== 1) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const [n, h, w, c] = xShape;
  const [kh, kw, , co] = filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  if ([n, h, w, c, co, oh, ow].some((d) => d < 1)) return null;
  return { geom: Int32Array.of(n, h, w, c, kh, kw, co, sh, sw, padInfo.top, padInfo.left, oh, ow), out: [n, oh, ow, co] };
}

/** A bias the addon can add: one value per output column. */
function biasOk(bias: TensorInfo | undefined, cols: number): boolean {
  return bias == null || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === cols);
}

/** What differs between the plain and the depthwise convolutions: how the geometry is read, and the addon's functions. */
interface ConvFamily {
  geometry(xShape: number[], filterShape: number[], a: ConvAttrs): { geom: Int32Array; out: number[] } | null;
  /** Output channels, from the filter's shape (one bias value each). */
  outChannels(filterShape: number[]): number;
  forward: 'conv2d' | 'depthwiseConv2d';
  gradInput: 'conv2dBackpropInput' | 'depthwiseBackpropInput';
  gradFilter: 'conv2dBackpropFilter' | 'depthwiseBackpropFilter';
}
const CONV: ConvFamily = {
  geometry,
  outChannels: (f) => f[3],
  forward: 'conv2d',
  gradInput: 'conv2dBackpropInput',
  gradFilter: 'conv2dBackpropFilter',
};
const DEPTHWISE: ConvFamily = {
  geometry: depthwiseGeometry,
  outChannels: (f) => f[2],
  forward: 'depthwiseConv2d',
  gradInput: 'depthwiseBackpropInput',
  gradFilter: 'depthwiseBackpropFilter',
};

/** Conv2D / FusedConv2D, or DepthwiseConv2dNative / FusedDepthwiseConv2D (bias, relu, relu6). */
function makeConv2D(blas: NativeBlas, fallback: tf.KernelFunc, fused: boolean, family = CONV): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs;
    const act = ACTIVATIONS[fused ? (attrs.activation ?? 'linear') : 'linear'];
    const g = x && filter && f32(x, filter, bias) ? family.geometry(x.shape, filter.shape, attrs) : null;
    if (!g || act == null || preluActivationWeights != null || !biasOk(bias, family.outChannels(filter!.shape))) return fallback(args);
    const backend = args.backend as unknown as WasmBackend;
    const out = backend.makeOutput(g.out, 'float32');
    // Views after the allocation: a growing heap detaches earlier views.
    const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    blas[family.forward](view(x!), view(filter!), view(out), g.geom, bias ? view(bias) : null, act);
    return out;
  };
}

/**
 * Conv2DBackpropInput (dy, filter -> dx) and Conv2DBackpropFilter (x, dy -> dW), or their depthwise twins: the
 * shape of what they compute is an attribute, the other operand an input.
 */
function makeConvGradient(blas: NativeBlas, fallback: tf.KernelFunc, of: 'input' | 'filter', family = CONV): tf.KernelFunc {
  return (args) => {
    const { dy, filter, x } = args.inputs as Record<string, TensorInfo>;
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[]; filterShape: number[] };
    const other = of === 'input' ? filter : x;
    const [xShape, filterShape] = of === 'input' ? [attrs.inputShape, filter.shape] : [x.shape, attrs.filterShape];
    const g = f32(dy, other) ? family.geometry(xShape, filterShape, attrs) : null;
    if (!g || !tf.util.arraysEqual(g.out, dy.shape)) return fallback(args);
    const backend = args.backend as unknown as WasmBackend;
    const out = backend.makeOutput([...(of === 'input' ? xShape : filterShape)], 'float32');
    const view = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    if (of === 'input') blas[family.gradInput](view(dy), view(filter), view(out), g.geom);
    else blas[family.gradFilter](view(x), view(dy), view(out), g.geom);
    return out;
  };
}

/**
 * A depthwise convolution's geometry (one filter per channel, multiplier 1) as a convolution's with
 * co = c, or null for what the addon leaves to wasm (a multiplier above 1, dilation, NCHW).
 */
function depthwiseGeometry(xShape: number[], filterShape: number[], a: ConvAttrs): { geom: Int32Array; out: number[] } | null {
  const [kh, kw, c, m] = filterShape;
  return m === 1 && xShape[3] === c ? geometry(xShape, [kh, kw, c, c], a) : null;
}

/**
 * BatchMatMul and _FusedMatMul (every dense layer, forward and gradients, and the
 * pointwise-conv gradients of wasm-gradients.ts): one GEMM per batch item, with
 * transposes done by the BLAS itself. Batch dimensions must be equal or 1.
 */
function makeMatMul(blas: NativeBlas, fallback: tf.KernelFunc, fused: boolean): tf.KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
    const act = ACTIVATIONS[fused ? (attrs.activation ?? 'linear') : 'linear'];
    if (
      !a ||
      !b ||
      !f32(a, b, bias) ||
      act == null ||
      preluActivationWeights != null ||
      a.shape.length < 2 ||
      a.shape.length !== b.shape.length
    )
      return fallback(args);
    const r = a.shape.length;
    const [m, k] = attrs.transposeA ? [a.shape[r - 1], a.shape[r - 2]] : [a.shape[r - 2], a.shape[r - 1]];
    const [k2, n] = attrs.transposeB ? [b.shape[r - 1], b.shape[r - 2]] : [b.shape[r - 2], b.shape[r - 1]];
    const lead = a.shape.slice(0, -2).map((d, i) => (d === b.shape[i] || b.shape[i] === 1 ? d : d === 1 ? b.shape[i] : -1));
    if (k !== k2 || lead.some((d) => d < 0) || !biasOk(bias, n) || m * n * k === 0) return fallback(args);
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const batch = tf.util.sizeFromShape(lead);
    // Leading dimensions that broadcast one by one (e.g. [2,1] against [1,3]) are not one batch index each: fall back.
    if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return fallback(args);
    const backend = args.backend as unknown as WasmBackend;
    const out = backend.makeOutput([...lead, m, n], 'float32');
    const [av, bv, ov] = [a, b, out].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const bb = bias ? (backend.typedArrayFromHeap(bias) as Float32Array) : null;
    const dims = Int32Array.of(m, n, k, attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0);
    for (let i = 0; i < batch; i++) {
      const ai = batchA === 1 ? 0 : i,
        bi = batchB === 1 ? 0 : i;
      blas.gemm(
        av.subarray(ai * m * k, (ai + 1) * m * k),
        bv.subarray(bi * k * n, (bi + 1) * k * n),
        ov.subarray(i * m * n, (i + 1) * m * n),
        dims,
        bb,
        act,
      );
    }
    return out;
  };
}

let registered: NativeBlas | null = null;

/**
 * Replaces the wasm backend's convolution and matrix-product kernels with the addon's,
 * each falling back to the kernel it replaces. Call after the wasm gradient kernels are
 * registered. Returns the OpenBLAS core in use, or null where the addon is not loaded.
 */
export function registerNativeKernels(threads = 1): string | null {
  if (registered) return registered.coreName();
  const blas = loadNativeBlas(threads);
  if (!blas) return null;
  const wraps: Record<(typeof nativeKernelNames)[number], (f: tf.KernelFunc) => tf.KernelFunc> = {
    Conv2D: (f) => makeConv2D(blas, f, false),
    FusedConv2D: (f) => makeConv2D(blas, f, true),
    Conv2DBackpropInput: (f) => makeConvGradient(blas, f, 'input'),
    Conv2DBackpropFilter: (f) => makeConvGradient(blas, f, 'filter'),
    BatchMatMul: (f) => makeMatMul(blas, f, false),
    _FusedMatMul: (f) => makeMatMul(blas, f, true),
    DepthwiseConv2dNative: (f) => makeConv2D(blas, f, false, DEPTHWISE),
    FusedDepthwiseConv2D: (f) => makeConv2D(blas, f, true, DEPTHWISE),
    DepthwiseConv2dNativeBackpropInput: (f) => makeConvGradient(blas, f, 'input', DEPTHWISE),
    DepthwiseConv2dNativeBackpropFilter: (f) => makeConvGradient(blas, f, 'filter', DEPTHWISE),
  };
  for (const name of nativeKernelNames) {
    const old = tf.getKernel(name, BACKEND);
    if (!old) continue;
    tf.unregisterKernel(name, BACKEND);
    tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: wraps[name](old.kernelFunc), setupFunc: old.setupFunc });
  }
  registered = blas;
  return blas.coreName();
}

/** The OpenBLAS core the kernels run on, or null when they are not in use. */
export const nativeKernelsCore = (): string | null => registered?.coreName() ?? null;

/** The addon the registered kernels call (tests count its calls), or null. */
export const nativeBlas = (): NativeBlas | null => registered;
