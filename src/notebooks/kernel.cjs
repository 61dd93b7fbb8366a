// One notebook through tslab's own kernel code, without Jupyter or ZeroMQ:
// tslab's converter (TypeScript, type-checked) and executor, driven by its
// JupyterHandlerImpl exactly as the ZeroMQ server drives it, so console
// output and display calls arrive as they would in a Jupyter front end.
// Plain CommonJS run by plain node, like the real kernel (no tsx hooks).
// Usage, from notebooks/: node kernel.cjs <notebook.ipynb> <result.json>
// The result: { cells: [{ index, execution_count, ok, outputs }], failed }.
'use strict';
const fs = require('fs');
const path = require('path');

const [file, resultFile] = process.argv.slice(2);
const dist = path.join(path.dirname(require.resolve('tslab/package.json')), 'dist');
const { createConverter } = require(path.join(dist, 'converter'));
const { createExecutor } = require(path.join(dist, 'executor'));
const { JupyterHandlerImpl } = require(path.join(dist, 'jupyter'));

let node = null;
const convs = {
  get node() { return node || (node = createConverter({ isJS: false, isBrowser: false })); },
  get browser() { throw new Error('browser cells are not supported here'); },
  close() { if (node) node.close(); },
};
const executor = createExecutor(process.cwd(), convs, { log: console.log, error: console.error });
const handler = new JupyterHandlerImpl(executor, false);

// Outputs of the cell being run, in arrival order (late writes go to the last cell, as in Jupyter).
let current = [];
const writeStream = (name, text) => { current.push({ output_type: 'stream', name, text }); };
const writeDisplayData = (msg, update) => {
  const id = msg.transient && msg.transient.display_id;
  const out = { output_type: 'display_data', data: msg.data, metadata: msg.metadata || {}, display_id: id };
  // An update replaces the output shown under the same display id.
  const at = update && id ? current.findIndex((o) => o.display_id === id) : -1;
  if (at >= 0) current[at] = out; else current.push(out);
};
process.on('uncaughtException', (err) => { console.error('UncaughtException:', err); });
process.on('unhandledRejection', (reason) => { console.error('UnhandledPromiseRejection:', reason); });

(async () => {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  const cells = [];
  let failed = null;
  for (const [index, cell] of nb.cells.entries()) {
    if (cell.cell_type !== 'code') continue;
    const code = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    current = [];
    const reply = await handler.handleExecute({ code }, writeStream, writeDisplayData);
    const ok = reply.status === 'ok';
    cells.push({ index, execution_count: reply.execution_count ?? null, ok, outputs: current });
    if (!ok) { failed = index; break; } // "Run all" stops at the first error.
  }
  fs.writeFileSync(resultFile, JSON.stringify({ cells, failed }));
  executor.close();
  process.exit(0);
})().catch((e) => {
  fs.writeSync(2, `kernel failed: ${e && e.stack || e}\n`);
  process.exit(2);
});
