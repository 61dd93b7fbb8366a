// Runs one notebook's code cells through tslab's own compiler and executor
// (type-checked and executed as the Jupyter kernel would, without Jupyter).
// Usage, from notebooks/: node tslab-run.cjs <tslab package dir> <notebook.ipynb>
// Exit code 0 when every cell ran; prints "displayed N" for the display calls.
'use strict';
const fs = require('fs');
const path = require('path');
const [tslabDir, file] = process.argv.slice(2);
const dist = path.join(tslabDir, 'dist');
const { createConverter } = require(path.join(dist, 'converter'));
const { createExecutor } = require(path.join(dist, 'executor'));
let shown = 0;
// Display calls go to the Jupyter connection; count them instead.
require(path.join(dist, 'jupyter')).lastWriteDisplayData = () => { shown++; };
let node = null;
const convs = {
  get node() { return node || (node = createConverter({ isJS: false, isBrowser: false })); },
  get browser() { throw new Error('browser cells are not used'); },
  close() { if (node) node.close(); },
};
const executor = createExecutor(process.cwd(), convs, { log: console.log, error: console.error });
const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
(async () => {
  let failed = false;
  for (const [i, cell] of nb.cells.entries()) {
    if (cell.cell_type !== 'code') continue;
    const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    if (!(await executor.execute(src))) { console.error(`cell ${i + 1} failed`); failed = true; break; }
  }
  console.log(`displayed ${shown}`);
  executor.close();
  convs.close();
  process.exit(failed ? 1 : 0);
})();
