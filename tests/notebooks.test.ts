/**
 * The notebook check: every notebooks/*.ipynb is a tslab notebook whose code
 * cells, run in order, headless, on a small synthetic FER set and tiny models,
 * finish without an error. No Jupyter needed: the code cells are put one after
 * the other into a single TypeScript module (imports hoisted, `tslab` replaced
 * by a shim that records display calls, `require` provided as tslab does) and
 * run with tsx in notebooks/, where Jupyter starts the kernel. The displayed
 * outputs are kept in test-output/notebooks/<name>.html.
 *
 * With TSLAB_DIR pointing at an installed tslab (e.g. `$(npm root -g)/tslab`)
 * the cells also go through tslab's own compiler and executor, type-checked
 * as in Jupyter; without it that part is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { initBackend } from '../src/tf/backend.js';
import { PROJECT_ROOT } from '../src/server/paths.js';
import { saveTinyModel, testCard } from './helpers/models.js';
import { makeSyntheticFer, type SyntheticData } from './helpers/synthetic-fer.js';

const run = promisify(execFile);
const NOTEBOOKS = path.join(PROJECT_ROOT, 'notebooks');
const OUT = path.join(PROJECT_ROOT, 'test-output', 'notebooks');
const SHIM = path.join(PROJECT_ROOT, 'tests', 'helpers', 'tslab-shim.ts');
const TSLAB_DIR = process.env.TSLAB_DIR;

interface Cell { cell_type: string; source: string | string[] }
interface Notebook { nbformat: number; metadata: { kernelspec?: { name?: string } }; cells: Cell[] }

const cellText = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

/**
 * One ES module from a notebook's code cells. Single-line imports move to the
 * top (tslab allows them in any cell); the rest keeps its order, so later
 * cells see earlier cells' variables as in the kernel.
 */
export function notebookToModule(nb: Notebook, shimUrl: string, requireBase: string): string {
  const imports: string[] = [];
  const body: string[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    body.push(`// ---- cell ${i + 1} ----`);
    for (const line of cellText(c).split('\n')) {
      if (/^import\s.+\sfrom\s+['"][^'"]+['"];?\s*$/.test(line)) {
        imports.push(line.replace(/from\s+['"]tslab['"]/, `from ${JSON.stringify(shimUrl)}`));
      } else {
        body.push(line);
      }
    }
  });
  return [
    `import { createRequire as __createRequire } from 'node:module';`,
    `import { flush as __flush } from ${JSON.stringify(shimUrl)};`,
    ...imports,
    `const require = __createRequire(${JSON.stringify(requireBase)});`,
    ...body,
    `// ---- end ----`,
    `console.log('notebook outputs: ' + __flush());`,
  ].join('\n') + '\n';
}

const files = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
let syn: SyntheticData;
let modelsDir: string;

before(async () => {
  await initBackend();
  syn = await makeSyntheticFer();
  modelsDir = path.join(syn.dir, 'models');
  const history = [1, 2, 3].map((epoch) => ({ epoch, loss: 2 - epoch / 5, acc: 0.2 + epoch / 20, val_loss: 2 - epoch / 6, val_acc: 0.2 + epoch / 25, lr: epoch < 3 ? 1e-3 : 5e-4 }));
  for (const [name, seed] of [['custom-cnn', 1], ['mobilenetv2', 2]] as const) {
    await saveTinyModel(modelsDir, testCard(name, 0.3, { history }), seed);
  }
  fs.mkdirSync(OUT, { recursive: true });
});
after(async () => { await syn?.cleanup(); });

test('there are notebooks', () => { assert.ok(files.length >= 4, `found ${files.join(', ')}`); });

function notebookEnv(file: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    EKSPRESI_NOTEBOOK_DATA: syn.csv,
    EKSPRESI_NOTEBOOK_MODELS: modelsDir,
    EKSPRESI_NOTEBOOK_EPOCHS: '2',
    TSLAB_SHIM_OUT: path.join(OUT, file.replace(/\.ipynb$/, '.html')),
  };
}

describe('notebooks run headless on a synthetic set', () => {
  for (const file of files) {
    test(file, { timeout: 300_000 }, async () => {
      const nb = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, file), 'utf8')) as Notebook;
      assert.equal(nb.nbformat, 4);
      assert.equal(nb.metadata.kernelspec?.name, 'tslab', 'a tslab (TypeScript) notebook');
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      assert.ok(code.length > 0);
      assert.match(cellText(code[0]), /process\.env\.EKSPRESI_NOTEBOOK_DATA/, 'the first code cell holds the data-path setting');
      const moduleFile = path.join(OUT, file.replace(/\.ipynb$/, '.mts'));
      fs.writeFileSync(moduleFile, notebookToModule(nb, pathToFileURL(SHIM).href, path.join(NOTEBOOKS, '__notebook__.js')));
      try {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', moduleFile], {
          cwd: NOTEBOOKS,
          maxBuffer: 16 * 1024 * 1024,
          env: notebookEnv(file),
        });
        const shown = Number(/notebook outputs: (\d+)/.exec(stdout)?.[1] ?? 0);
        assert.ok(shown > 0, 'the notebook displayed something');
      } catch (e) {
        const err = e as Error & { stderr?: string; stdout?: string };
        assert.fail(`${file} failed (cells as one module: ${moduleFile}):\n${(err.stderr || err.message).slice(-3000)}`);
      }
    });
  }
});

describe('notebooks through tslab itself', {
  skip: TSLAB_DIR ? false : 'set TSLAB_DIR to an installed tslab (npm i -g tslab; TSLAB_DIR=$(npm root -g)/tslab) to also type-check and run the cells with tslab',
}, () => {
  for (const file of files) {
    test(file, { timeout: 300_000 }, async () => {
      try {
        const { stdout } = await run(process.execPath, [path.join(PROJECT_ROOT, 'tests', 'helpers', 'tslab-run.cjs'), TSLAB_DIR!, file], {
          cwd: NOTEBOOKS, maxBuffer: 16 * 1024 * 1024, env: notebookEnv(file),
        });
        assert.ok(Number(/displayed (\d+)/.exec(stdout)?.[1] ?? 0) > 0, 'the notebook displayed something');
      } catch (e) {
        const err = e as Error & { stderr?: string };
        assert.fail(`${file} failed under tslab:\n${(err.stderr || err.message).slice(-3000)}`);
      }
    });
  }
});
