/**
 * A few SIMD loops over the wasm backend's own memory.
 *
 * The element-wise kernels a MobileNetV2 gradient needs besides XNNPACK's
 * (the relu6 gradient's compare/and/select, column sums, the depthwise filter
 * gradient) run 4-9 ns per element in tfjs-backend-wasm's generic C++ paths,
 * and 2-7 ns as JavaScript loops; as 128-bit SIMD they run at memory speed.
 * TF.js cannot be rebuilt here (no emscripten), so a tiny WebAssembly module,
 * written as text in simd/kernels.wat and assembled into the committed
 * simd/kernels.wasm by `npm run build:wasm` (wabt, a dev dependency), imports
 * the backend's WebAssembly.Memory as `env.memory` and works on tensors in
 * place, by their heap addresses. This file only loads that binary.
 *
 * Exports (pointers are byte addresses, n counts elements; see kernels.wat):
 *  - cmp_{ge,le,gt,lt}_s(x, s, out, n): out[i] = x[i] OP s (float32 -> bool bytes)
 *  - cmp_{ge,le,gt,lt}_v(a, b, out, n): out[i] = a[i] OP b[i]
 *  - and_v(a, b, out, n): out[i] = a[i] != 0 && b[i] != 0
 *  - select_v(c, t, e, out, n): out[i] = c[i] ? t[i] : e[i] (float32)
 *  - range_grad(x, dy, out, n, lo, hi): out[i] = lo <= x[i] <= hi ? dy[i] : 0 (the
 *    gradient of relu, relu6 and clipByValue in one pass)
 *  - colsum(x, rows, cols, acc): acc[c] += sum over r of x[r, c] (float64 acc)
 *  - dw_row(xRow, dyRow, acc, ow, kw, sw, left, w, c): one output row of the
 *    depthwise filter gradient for one kernel row: for each output column j and
 *    tap q inside the input, acc[q, :] += x[j*sw + q - left, :] * dy[j, :]
 *  - repeat(x, out, n, r): out[i*r + k] = x[i] (grey -> RGB in preprocessing)
 *  - pool2x2_row(x0, x1, dy, dx0, dx1, ow, c): one output row of the 2x2
 *    stride-2 max-pool gradient over full windows (x0/x1, dx0/dx1: two input rows)
 *  - bn_grad_sums(x, dy, mean, rows, cols, acc): acc[c] += sum of dy[:, c],
 *    acc[cols + c] += sum of dy[:, c] * (x[:, c] - mean[c]) (float64 acc)
 *  - transpose(x, xT, positions, c): [positions, c] -> [c, positions] (float32)
 *  - patch_t(xT, col, n, h, w, c, kh, kw, oh, ow, top, left): the transposed
 *    patch matrix of a stride-1 conv from the channel-major input (patchMatrixT)
 * Each function handles any n (a scalar loop finishes what 16/4 lanes leave).
 */
import { readFileSync } from 'node:fs';

const CMPS = ['ge', 'le', 'gt', 'lt'] as const;
type CmpName = (typeof CMPS)[number];
const EXPORTS = [
  ...CMPS.flatMap((c) => [`cmp_${c}_s`, `cmp_${c}_v`]),
  'and_v',
  'select_v',
  'range_grad',
  'colsum',
  'dw_row',
  'repeat',
  'pool2x2_row',
  'transpose',
  'patch_t',
  'bn_grad_sums',
];

type Ptr = number;
export interface SimdOps {
  cmpScalar: Record<CmpName, (x: Ptr, s: number, out: Ptr, n: number) => void>;
  cmpVector: Record<CmpName, (a: Ptr, b: Ptr, out: Ptr, n: number) => void>;
  and(a: Ptr, b: Ptr, out: Ptr, n: number): void;
  select(c: Ptr, t: Ptr, e: Ptr, out: Ptr, n: number): void;
  rangeGrad(x: Ptr, dy: Ptr, out: Ptr, n: number, lo: number, hi: number): void;
  colsum(x: Ptr, rows: number, cols: number, acc: Ptr): void;
  dwRow(xRow: Ptr, dyRow: Ptr, acc: Ptr, ow: number, kw: number, sw: number, left: number, w: number, c: number): void;
  repeat(x: Ptr, out: Ptr, n: number, r: number): void;
  pool2x2Row(x0: Ptr, x1: Ptr, dy: Ptr, dx0: Ptr, dx1: Ptr, ow: number, c: number): void;
  transpose(x: Ptr, xT: Ptr, positions: number, c: number): void;
  bnGradSums(x: Ptr, dy: Ptr, mean: Ptr, rows: number, cols: number, acc: Ptr): void;
  patchT(
    xT: Ptr,
    col: Ptr,
    n: number,
    h: number,
    w: number,
    c: number,
    kh: number,
    kw: number,
    oh: number,
    ow: number,
    top: number,
    left: number,
  ): void;
  /** Uninitialised bytes on the wasm heap, freed by `free`. */
  alloc(bytes: number): Ptr;
  /** Zeroed float64 scratch on the wasm heap, freed by `free`. */
  scratch(count: number): Ptr;
  free(ptr: Ptr): void;
  memory: WebAssembly.Memory;
}

interface EmscriptenModule {
  /** The single-threaded build exports its memory; the threaded one imports it (wasmMemory). */
  asm?: { memory?: unknown };
  wasmMemory?: unknown;
  _malloc?(bytes: number): number;
  _free?(ptr: number): void;
}

/** The compiled modules (unshared, shared memory), read once; null when the file is missing or not valid here (e.g. no SIMD). */
const compiled = new Map<boolean, WebAssembly.Module | null>();
function kernelsModule(shared: boolean): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    let module: WebAssembly.Module | null;
    try {
      const bytes = readFileSync(new URL(shared ? './simd/kernels-shared.wasm' : './simd/kernels.wasm', import.meta.url));
      module = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      module = null;
    }
    compiled.set(shared, module);
  }
  return compiled.get(shared)!;
}

const loaded = new WeakMap<object, SimdOps | null>();

/**
 * The SIMD functions bound to a wasm backend's memory, or null where they
 * cannot be (no kernels.wasm, no SIMD, an unexpected layout): callers then
 * use their slower paths.
 */
export function simdOps(backend: unknown): SimdOps | null {
  const wasm = (backend as { wasm?: EmscriptenModule }).wasm;
  if (!wasm) return null;
  if (loaded.has(wasm)) return loaded.get(wasm)!;
  let ops: SimdOps | null = null;
  try {
    const memory = wasm.asm?.memory ?? wasm.wasmMemory;
    const malloc = wasm._malloc,
      free = wasm._free;
    const module = memory instanceof WebAssembly.Memory ? kernelsModule(memory.buffer instanceof SharedArrayBuffer) : null;
    if (module && memory instanceof WebAssembly.Memory && malloc && free) {
      const e = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
      if (EXPORTS.every((name) => typeof e[name] === 'function')) {
        const byCmp = (suffix: string) =>
          Object.fromEntries(CMPS.map((c) => [c, e[`cmp_${c}_${suffix}`]])) as Record<
            CmpName,
            (a: number, b: number, c: number, d: number) => void
          >;
        ops = {
          cmpScalar: byCmp('s'),
          cmpVector: byCmp('v'),
          and: e.and_v,
          select: e.select_v,
          rangeGrad: e.range_grad,
          colsum: e.colsum,
          dwRow: e.dw_row,
          repeat: e.repeat,
          pool2x2Row: e.pool2x2_row,
          transpose: e.transpose,
          patchT: e.patch_t,
          bnGradSums: e.bn_grad_sums,
          alloc: (bytes) => malloc.call(wasm, bytes),
          scratch: (count) => {
            const ptr = malloc.call(wasm, count * 8);
            new Float64Array(memory.buffer, ptr, count).fill(0);
            return ptr;
          },
          free: (ptr) => free.call(wasm, ptr),
          memory,
        };
      }
    }
  } catch {
    ops = null;
  }
  loaded.set(wasm, ops);
  return ops;
}
