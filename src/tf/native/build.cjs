// Builds the optional OpenBLAS addon (binding.gyp here) at install time. It never fails
// the install: where OpenBLAS or a C compiler is missing, wasm's own kernels run instead
// (src/tf/native-kernels.ts), only slower. `npm run build:native` runs it again.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const say = (msg) => console.log(`ekspresi: ${msg}`);
if (process.env.EKSPRESI_NATIVE === '0') {
  say('EKSPRESI_NATIVE=0: the OpenBLAS addon is not built');
  process.exit(0);
}
// npm tells its scripts where its node-gyp is; otherwise the one bundled with npm beside node.
const gyp = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((p) => p && fs.existsSync(p));
const hint = 'install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev) and a C compiler, then npm run build:native';
if (!gyp) {
  say(`the OpenBLAS addon was not built (node-gyp not found): training runs on the wasm kernels. For faster training, ${hint}`);
  process.exit(0);
}
// Node's own headers where they are installed beside it (offline machines); npm passes its nodedir setting itself.
const prefix = path.join(path.dirname(process.execPath), '..');
const nodedir =
  !process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const run = spawnSync(process.execPath, [gyp, 'rebuild', '--release', ...nodedir], { cwd: __dirname, encoding: 'utf8' });
if (run.status === 0) {
  say('built the OpenBLAS addon: convolutions and matrix products run on the CPU\u2019s own BLAS');
} else {
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n');
  const reason =
    output.find((l) => /error:|cannot find -l/.test(l)) ??
    output.find((l) => /ERR! stack Error/.test(l)) ??
    output.at(-1) ??
    String(run.error);
  say(`the OpenBLAS addon was not built (${reason.trim()}): training runs on the wasm kernels. For faster training, ${hint}`);
}
