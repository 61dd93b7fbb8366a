/**
 * The one place that chooses the TF.js backend. Order: tfjs-node (if the
 * optional dependency installed and loads) > wasm (with our gradient kernels) >
 * cpu. Override with `--backend` (passed in) or the TFJS_BACKEND env var.
 * wasm runs single-threaded unless asked for more threads (`threads`, or the
 * TFJS_WASM_THREADS env var): then the threaded build (wasm-threads.ts).
 * Where the optional OpenBLAS addon is built, wasm's convolutions and matrix
 * products run on it (native-kernels.ts; EKSPRESI_NATIVE=0 switches it off).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { nativeKernelsCore, registerNativeKernels } from './native-kernels.js';
import { registerWasmGradientKernels } from './wasm-gradients.js';
import { registerThreadedWasm, wasmThreads } from './wasm-threads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);
let chosen: Promise<BackendName> | null = null;

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional dependency: absent on machines where its installer cannot
    // download libtensorflow. The module name is a variable so bundlers and
    // the type checker do not insist on it.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.findBackend('tensorflow') != null || tf.engine().registryFactory.tensorflow != null;
  } catch {
    return false;
  }
}

export interface BackendOptions {
  /** wasm only: threads of the XNNPACK pool; more than 1 loads the threaded build. Default 1. */
  threads?: number;
}

/** The thread count asked for: the option, else TFJS_WASM_THREADS, else 1. */
export function requestedThreads(threads?: number): number {
  const raw = threads ?? (process.env.TFJS_WASM_THREADS ? Number(process.env.TFJS_WASM_THREADS) : 1);
  if (!Number.isInteger(raw) || raw < 1 || raw > 64) throw new Error(`wasm threads must be a whole number from 1 to 64, got ${raw}`);
  return raw;
}

async function activate(name: BackendName, threads: number): Promise<boolean> {
  if (name === 'tensorflow') {
    if (!(await tryTfjsNode())) return false;
  }
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    // Point the loader at the .wasm files inside the installed package.
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
    if (threads > 1) registerThreadedWasm(threads);
    registerWasmGradientKernels();
    registerNativeKernels(threads);
  }
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

function requested(preferred?: string): BackendName | undefined {
  const want = preferred ?? process.env.TFJS_BACKEND;
  if (!want) return undefined;
  if (!(BACKENDS as readonly string[]).includes(want)) {
    throw new Error(`Unknown TF.js backend "${want}": use one of ${BACKENDS.join(', ')}`);
  }
  return want as BackendName;
}

/**
 * Initialises TF.js once per process and resolves to the backend in use.
 * An explicitly requested backend that cannot load is an error, not a silent fallback.
 */
export function initBackend(preferred?: string, log: (msg: string) => void = () => {}, options: BackendOptions = {}): Promise<BackendName> {
  if (chosen) return chosen;
  chosen = (async () => {
    tf.env().set('PROD', true);
    const want = requested(preferred);
    const threads = requestedThreads(options.threads);
    const order: BackendName[] = want ? [want] : ['tensorflow', 'wasm', 'cpu'];
    for (const name of order) {
      if (await activate(name, threads)) {
        await tf.ready();
        const n = name === 'wasm' ? wasmThreads() : 0;
        if (name === 'wasm' && threads > 1 && n !== threads)
          throw new Error(`the wasm backend started ${n} threads, not the ${threads} asked for`);
        const core = name === 'wasm' ? nativeKernelsCore() : null;
        const blas =
          name !== 'wasm' || process.env.EKSPRESI_NATIVE === '0'
            ? ''
            : core
              ? `convolutions on OpenBLAS (${core})`
              : 'OpenBLAS kernels not built: npm run build:native';
        const notes = [n > 1 ? `${n} threads` : '', blas].filter(Boolean);
        log(`TF.js backend: ${name}${notes.length ? ` (${notes.join(', ')})` : ''}`);
        return name;
      }
    }
    throw new Error(`TF.js backend "${order.join('/')}" could not be initialised`);
  })();
  chosen.catch(() => {
    chosen = null;
  });
  return chosen;
}

export { tf, wasmThreads };
