/**
 * The install-time build of the OpenBLAS addon (src/tf/native/build.cjs) never
 * fails an install: where the library cannot be linked it exits 0 and says
 * why and what to install; EKSPRESI_NATIVE=0 skips it. Run on a copy of the
 * folder, so the project's own build is left alone.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const source = path.join(import.meta.dirname, '..', '..', 'src', 'tf', 'native');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-native-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function copyWith(edit: (gyp: string) => string): string {
  const target = fs.mkdtempSync(path.join(dir, 'copy-'));
  // The sources as they are (every C file and header), without the project's own build output.
  fs.cpSync(source, target, { recursive: true, filter: (from) => path.relative(source, from) !== 'build' });
  const gyp = path.join(target, 'binding.gyp');
  fs.writeFileSync(gyp, edit(fs.readFileSync(gyp, 'utf8')));
  return target;
}

function build(folder: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(folder, 'build.cjs')], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

test('a library that cannot be linked: exit 0, the reason and what to install', () => {
  const folder = copyWith((gyp) => gyp.replace('-lopenblas', '-lno-such-blas'));
  const r = build(folder);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /the OpenBLAS addon was not built \(.*no-such-blas.*\): training runs on the wasm kernels/);
  assert.match(r.stdout, /apt-get install libopenblas-dev.*npm run build:native/);
  assert.equal(fs.existsSync(path.join(folder, 'build', 'Release', 'blas_kernels.node')), false);
});

test('EKSPRESI_NATIVE=0: nothing is built, and it says so', () => {
  const folder = copyWith((gyp) => gyp);
  const r = build(folder, { EKSPRESI_NATIVE: '0' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /EKSPRESI_NATIVE=0: the OpenBLAS addon is not built/);
  assert.equal(fs.existsSync(path.join(folder, 'build')), false);
});
