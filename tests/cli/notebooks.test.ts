/**
 * The notebook check: `npm run notebooks` executes every notebooks/*.ipynb
 * with tslab (its own compiler, cells type-checked, and its executor, as the
 * Jupyter kernel runs them) on a small synthetic FER set and tiny models, and
 * saves the outputs. The executed copies go to test-output/notebooks/ (open
 * them in Jupyter or any notebook viewer to look at the figures).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { initBackend } from '../../src/tf/backend.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { cellText, executeNotebook, localPathsIn, readNotebook, type Notebook } from '../../src/notebooks/execute.js';
import { saveTinyModel, testCard } from '../helpers/models.js';
import { makeSyntheticFer, type SyntheticData } from '../helpers/synthetic-fer.js';

const run = promisify(execFile);
const NOTEBOOKS = path.join(PROJECT_ROOT, 'notebooks');
const OUT = path.join(PROJECT_ROOT, 'test-output', 'notebooks');
const CLI = path.join(PROJECT_ROOT, 'src', 'cli', 'notebooks.ts');

const files = fs
  .readdirSync(NOTEBOOKS)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
let syn: SyntheticData;
let modelsDir: string;
let cli: { ok: boolean; stderr: string } = { ok: false, stderr: 'not run' };

const runCli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: PROJECT_ROOT, env, maxBuffer: 16 * 1024 * 1024 });

before(async () => {
  await initBackend();
  syn = await makeSyntheticFer();
  modelsDir = path.join(syn.dir, 'models');
  const history = [1, 2, 3].map((epoch) => ({
    epoch,
    loss: 2 - epoch / 5,
    acc: 0.2 + epoch / 20,
    val_loss: 2 - epoch / 6,
    val_acc: 0.2 + epoch / 25,
    lr: epoch < 3 ? 1e-3 : 5e-4,
  }));
  // The shipped pair (no mobilenetv2-frozen: the notebooks must not need it).
  for (const [name, seed] of [
    ['custom-cnn', 1],
    ['mobilenetv2', 2],
  ] as const) {
    await saveTinyModel(modelsDir, testCard(name, 0.3, { history }), seed);
  }
  // ... and an ensemble of the two (a card-only folder), as `npm run ensemble` makes one.
  fs.mkdirSync(path.join(modelsDir, 'ensemble'));
  fs.writeFileSync(
    path.join(modelsDir, 'ensemble', 'card.json'),
    JSON.stringify(testCard('ensemble', 0.35, { arch: 'ensemble', members: ['custom-cnn', 'mobilenetv2'] })),
  );
  fs.rmSync(OUT, { recursive: true, force: true });
});
after(async () => {
  await syn?.cleanup();
});

test('there are notebooks, tslab (TypeScript) ones with their settings in the first code cell', () => {
  assert.ok(files.length >= 4, `found ${files.join(', ')}`);
  for (const f of files) {
    const nb = readNotebook(path.join(NOTEBOOKS, f));
    assert.equal(nb.nbformat, 4, f);
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', `${f}: a tslab notebook`);
    const first = nb.cells.find((c) => c.cell_type === 'code');
    assert.match(
      first ? cellText(first) : '',
      /process\.env\.EKSPRESI_NOTEBOOK_DATA/,
      `${f}: the first code cell holds the data-path setting`,
    );
    assert.equal(nb.cells[0].cell_type, 'markdown', `${f} opens with its question`);
  }
});

describe('npm run notebooks on a synthetic set, through tslab', () => {
  before(
    async () => {
      try {
        const { stderr } = await runCli(['--data', syn.csv, '--models', modelsDir, '--out', OUT], {
          ...process.env,
          EKSPRESI_NOTEBOOK_EPOCHS: '2',
        });
        cli = { ok: true, stderr };
      } catch (e) {
        const err = e as Error & { stderr?: string };
        cli = { ok: false, stderr: err.stderr || err.message };
      }
    },
    { timeout: 900_000 },
  );

  test('the command ran every notebook', () => {
    assert.ok(cli.ok, `npm run notebooks failed:\n${cli.stderr.slice(-4000)}`);
    for (const f of files) assert.match(cli.stderr, new RegExp(`${f.replace('.', '\\.')}: \\d+ s, outputs`), `${f} reported`);
  });

  for (const file of files) {
    test(`${file}: saved as Jupyter stores an executed notebook, with PNG figures and no local paths`, async () => {
      assert.ok(cli.ok, 'the command failed (see the test above)');
      const nb = readNotebook(path.join(OUT, file));
      const code = nb.cells.filter((c) => c.cell_type === 'code');
      assert.deepEqual(
        code.map((c) => c.execution_count),
        code.map((_, i) => i + 1),
        'execution counts 1..n in order',
      );
      const outputs = code.flatMap((c) => c.outputs ?? []);
      assert.ok(
        outputs.some((o) => o.output_type === 'stream' && o.name === 'stdout'),
        'console output kept as a stream',
      );
      assert.ok(
        !outputs.some((o) => o.output_type === 'stream' && o.name === 'stderr'),
        `no error output: ${JSON.stringify(outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr')).slice(0, 800)}`,
      );
      const pngs = outputs.flatMap((o) =>
        o.output_type === 'display_data' && typeof o.data['image/png'] === 'string' ? [o.data['image/png']] : [],
      );
      assert.ok(pngs.length > 0, 'at least one figure as image/png');
      for (const b64 of pngs) {
        const meta = await sharp(Buffer.from(b64, 'base64')).metadata();
        assert.equal(meta.format, 'png');
        assert.ok((meta.width ?? 0) > 40 && (meta.height ?? 0) > 40, `a real figure, ${meta.width}x${meta.height}`);
      }
      assert.deepEqual(localPathsIn(nb, [syn.dir, modelsDir, PROJECT_ROOT, os.tmpdir()]), [], 'outputs name files, not where they are');
    });
  }
});

describe('the tslab runner', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-nb-'));
  const notebook = (cells: string[]): Notebook => ({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab' } },
    cells: cells.map((source) => ({ cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null })),
  });

  test('type-checks cells: a type error stops the run at that cell, with the diagnostic', { timeout: 180_000 }, async () => {
    const dir = tmp();
    try {
      const file = path.join(dir, 'bad.ipynb');
      fs.writeFileSync(
        file,
        JSON.stringify(notebook(['const n: number = 1;\nconsole.log("one", n);', 'const s: string = n;', 'console.log("never");'])),
      );
      const result = await executeNotebook(file, { timeoutMs: 150_000 });
      assert.equal(result.failed, 1, 'the second cell failed');
      assert.match(result.error, /not assignable to type 'string'/);
      assert.deepEqual(
        result.notebook.cells.map((c) => c.execution_count),
        [1, 2, null],
      );
      assert.deepEqual(result.notebook.cells[0].outputs, [{ output_type: 'stream', name: 'stdout', text: ['one 1\n'] }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('keeps display calls and console output in order, with top-level await', { timeout: 180_000 }, async () => {
    const dir = tmp();
    try {
      const file = path.join(dir, 'ok.ipynb');
      fs.writeFileSync(
        file,
        JSON.stringify(
          notebook([
            "import * as tslab from 'tslab';\nconsole.log('a');\nconsole.log('b');\ntslab.display.html('<b>x</b>\\n<i>y</i>');\nawait new Promise((r) => setTimeout(r, 10));\ntslab.display.png(new Uint8Array([1, 2, 3]));\nconsole.error('warned');",
          ]),
        ),
      );
      const result = await executeNotebook(file, { timeoutMs: 150_000 });
      assert.equal(result.failed, null, result.error);
      assert.deepEqual(result.notebook.cells[0].outputs, [
        { output_type: 'stream', name: 'stdout', text: ['a\n', 'b\n'] },
        { output_type: 'display_data', data: { 'text/html': ['<b>x</b>\n', '<i>y</i>'] }, metadata: {} },
        { output_type: 'display_data', data: { 'image/png': 'AQID' }, metadata: {} },
        { output_type: 'stream', name: 'stderr', text: ['warned\n'] },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the command refuses a missing data file with a clear message', async () => {
    await assert.rejects(
      runCli(['--data', path.join(os.tmpdir(), 'no-such-fer.csv'), '--out', path.join(os.tmpdir(), 'no-such-out')]),
      (e: Error & { stderr?: string; code?: number }) => e.code === 1 && /no such data file or folder/.test(e.stderr ?? ''),
    );
  });
});
