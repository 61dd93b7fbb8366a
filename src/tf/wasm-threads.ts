/**
 * The threaded SIMD build of the wasm backend, made to run in Node.
 *
 * tfjs-backend-wasm ships tfjs-backend-wasm-threaded-simd.wasm (XNNPACK with
 * a pthreadpool) but never uses it in Node: its WASM_HAS_MULTITHREAD_SUPPORT
 * flag is false there (tfjs issue #3830), and its loader starts the pthread
 * workers from Blob URLs, which worker_threads cannot run. Node 20 itself runs
 * shared-memory wasm and Emscripten's pthreads on worker_threads fine, so this
 * module registers a 'wasm' backend that loads the package's own Emscripten
 * module (wasm-out/tfjs-backend-wasm-threaded-simd.js) directly, with
 *  - the pthread workers started from wasm-threads-worker.cjs (a file),
 *  - `emscripten_num_logical_cores` answering twice the threads asked for:
 *    the backend caps its pool at that number / 2 (it assumes two hardware
 *    threads per core), so on this 2-core machine it would never exceed 1,
 *  - the pool's workers unref'd, so they never keep a finished process alive.
 * The rest (kernels, BackendWasm) is the package's. Its version is pinned
 * exactly in package.json: these are internals (see docs/design.md).
 */
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const FACTORY = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
const BINARY = path.join(path.dirname(FACTORY), 'tfjs-backend-wasm-threaded-simd.wasm');
const WORKER = fileURLToPath(new URL('./wasm-threads-worker.cjs', import.meta.url));
/** tfjs-backend-wasm's priority for 'wasm' (base.ts). */
const WASM_PRIORITY = 2;

interface Worker {
  unref(): void;
}
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread: { runningWorkers: Worker[] };
  wasmMemory: WebAssembly.Memory;
  tfjs?: Record<string, unknown>;
}
type Factory = (config: {
  locateFile(file: string, prefix: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void): object;
}) => Promise<ThreadedModule>;

async function createThreadedModule(threads: number): Promise<ThreadedModule> {
  const factory = require(FACTORY) as Factory;
  const mod = await factory({
    locateFile: (file, prefix) => (file.endsWith('.worker.js') ? WORKER : path.join(prefix, file)),
    // Each worker loads the Emscripten script itself from this path.
    mainScriptUrlOrBlob: FACTORY,
    instantiateWasm(imports, receive) {
      (imports.env as Record<string, unknown>).emscripten_num_logical_cores = () => 2 * threads;
      void WebAssembly.instantiate(readFileSync(BINARY), imports).then((r) => receive(r.instance, r.module));
      return {};
    },
  });
  // What the package's init() adds before constructing BackendWasm.
  mod.tfjs = {
    init: mod.cwrap('init', null, []),
    initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
    registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: mod.cwrap('dispose_data', null, ['number']),
    dispose: mod.cwrap('dispose', null, []),
  };
  return mod;
}

/**
 * Replaces the registered 'wasm' backend factory by the threaded build with
 * `threads` threads (the calling thread counts as one). Call before the wasm
 * backend is first set; a backend already created is removed first.
 */
export function registerThreadedWasm(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`wasm threads must be a whole number >= 1, got ${threads}`);
  if (tf.findBackend('wasm') || tf.engine().registryFactory.wasm) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const mod = await createThreadedModule(threads);
      setThreadsCount(threads);
      const backend = new BackendWasm(mod as unknown as ConstructorParameters<typeof BackendWasm>[0]);
      // The pool's threads are started above; they idle between kernels and must not hold the process open.
      for (const w of mod.PThread.runningWorkers) w.unref();
      return backend;
    },
    WASM_PRIORITY,
  );
}

/** Threads in the wasm backend's XNNPACK pool (1 for the single-threaded build). */
export function wasmThreads(): number {
  try {
    return getThreadsCount();
  } catch {
    return 0;
  }
}
