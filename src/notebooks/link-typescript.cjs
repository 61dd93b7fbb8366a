// tslab (a devDependency) ships its own TypeScript fork with `tsc` and
// `tsserver` bins; npm links bins in path order, so the fork's would take
// node_modules/.bin/tsc and `npx tsc` would type-check the project with
// TypeScript 5.0. Point both back at the project's own TypeScript.
'use strict';
const fs = require('fs');
const path = require('path');

const bin = path.join(__dirname, '..', '..', 'node_modules', '.bin');
for (const name of ['tsc', 'tsserver']) {
  const target = path.join('..', 'typescript', 'bin', name);
  if (!fs.existsSync(path.join(bin, target))) continue; // installed without devDependencies
  const link = path.join(bin, name);
  try { if (fs.readlinkSync(link) === target) continue; } catch { /* absent or not a link */ }
  fs.rmSync(link, { force: true });
  fs.symlinkSync(target, link);
}
