/**
 * `npm run build:wasm`: assembles kernels.wat into the committed kernels.wasm.
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

/** The binary of kernels.wat: validated, with the SIMD feature, without a names section (smaller, same code). */
export async function assembleKernels(): Promise<Uint8Array> {
  const wat = await readFile(KERNELS_WAT, 'utf8');
  const module = (await wabt()).parseWat('kernels.wat', wat, { simd: true });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({ write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await assembleKernels();
  await writeFile(KERNELS_WASM, bytes);
  console.log(`wrote ${KERNELS_WASM} (${bytes.length} bytes)`);
}
