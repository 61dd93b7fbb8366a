/**
 * The SIMD kernels of src/tf/simd: the committed kernels.wasm is
 * exactly what kernels.wat assembles to (so the two cannot drift), and the
 * wasm backend really loads it (otherwise every kernel would silently take its
 * slower fallback and tests/unit/wasm-kernels.test.ts would still pass).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { assembleKernels, KERNELS_SHARED_WASM, KERNELS_WASM } from '../../src/tf/simd/build.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { simdOps } from '../../src/tf/wasm-simd.js';

test('kernels.wasm is the assembled kernels.wat', async () => {
  const [built, committed] = await Promise.all([assembleKernels(), readFile(KERNELS_WASM)]);
  assert.ok(
    Buffer.from(built).equals(committed),
    'src/tf/simd/kernels.wasm does not match kernels.wat: run `npm run build:wasm` and commit the .wasm',
  );
});

test('kernels-shared.wasm (for the threaded backend) is the same text with a shared memory import', async () => {
  const [built, committed] = await Promise.all([assembleKernels(true), readFile(KERNELS_SHARED_WASM)]);
  assert.ok(
    Buffer.from(built).equals(committed),
    'src/tf/simd/kernels-shared.wasm does not match kernels.wat: run `npm run build:wasm` and commit the .wasm',
  );
  const memory = WebAssembly.Module.imports(new WebAssembly.Module(committed)).find((i) => i.name === 'memory');
  assert.equal(memory?.kind, 'memory');
  // It instantiates only against a shared memory (an unshared one is refused).
  const module = new WebAssembly.Module(committed);
  assert.ok(new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) } }));
  assert.throws(() => new WebAssembly.Instance(module, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }));
});

test('the wasm backend loads the SIMD kernels', async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
  const ops = simdOps(tf.backend());
  assert.ok(ops, 'simdOps returned null: kernels.wasm missing, invalid, or the backend layout changed');
  // A smoke check on the heap: 20 floats (one 16-lane step and a scalar tail) against 0.
  const n = 20,
    x = ops.scratch(n),
    out = ops.scratch(n);
  try {
    const xs = new Float32Array(ops.memory.buffer, x, n);
    xs.set(Array.from({ length: n }, (_, i) => i - 10));
    ops.cmpScalar.ge(x, 0, out, n);
    assert.deepEqual(
      [...new Uint8Array(ops.memory.buffer, out, n)],
      Array.from({ length: n }, (_, i) => Number(i >= 10)),
    );
  } finally {
    ops.free(x);
    ops.free(out);
  }
});
