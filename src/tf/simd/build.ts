/**
 * `npm run build:wasm`: assembles kernels.wat into the committed kernels.wasm,
 * and into kernels-shared.wasm for the threaded wasm backend (../wasm-threads.ts),
 * whose memory is shared: the same code, only its memory import says `shared`
 * (a module must declare that to import a shared memory).
 *
 * The runtime (../wasm-simd.ts) only reads kernels.wasm, so wabt stays a dev
 * dependency; tests/unit/wasm-simd.test.ts calls `assembleKernels` to check the
 * committed binary still matches the text.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const KERNELS_WAT = fileURLToPath(new URL('./kernels.wat', import.meta.url));
export const KERNELS_WASM = fileURLToPath(new URL('./kernels.wasm', import.meta.url));
export const KERNELS_SHARED_WASM = fileURLToPath(new URL('./kernels-shared.wasm', import.meta.url));

const MEMORY_IMPORT = '(import "env" "memory" (memory 0))';
/** Emscripten's threaded build makes a shared memory of at most 4 GiB (65536 pages); an import must not ask more. */
const SHARED_MEMORY_IMPORT = '(import "env" "memory" (memory 0 65536 shared))';

/**
 * The binary of kernels.wat: validated, with the SIMD feature, without a names section (smaller, same code);
 * `shared`: importing a shared memory (threads feature).
 */
export async function assembleKernels(shared = false): Promise<Uint8Array> {
  let wat = await readFile(KERNELS_WAT, 'utf8');
  if (shared) {
    if (!wat.includes(MEMORY_IMPORT)) throw new Error(`kernels.wat: the memory import is not ${MEMORY_IMPORT}`);
    wat = wat.replace(MEMORY_IMPORT, SHARED_MEMORY_IMPORT);
  }
  const features = { simd: true, threads: shared };
  const module = (await wabt()).parseWat('kernels.wat', wat, features);
  try {
    module.resolveNames();
    // validate() takes the features too (its typing omits them).
    (module.validate as (f: typeof features) => void)(features);
    return module.toBinary({ write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, shared] of [
    [KERNELS_WASM, false],
    [KERNELS_SHARED_WASM, true],
  ] as const) {
    const bytes = await assembleKernels(shared);
    await writeFile(file, bytes);
    console.log(`wrote ${file} (${bytes.length} bytes)`);
  }
}
