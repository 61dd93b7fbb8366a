/**
 * npm run notebooks -- --data PATH [--models DIR] [--usage U] [--only NAME...] [--out DIR] [--clear]
 *
 * Re-executes the notebooks in notebooks/ with tslab and saves their outputs
 * into the .ipynb files, as Jupyter's "Run all" + "Save" would. A notebook is
 * written only when every cell ran and no local path shows in its outputs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { USAGES, type Usage } from '../types.js';
import { PROJECT_ROOT } from '../server/paths.js';
import { clearedNotebook, executeNotebook, localPathsIn, outputBytes, readNotebook, serialiseNotebook } from '../notebooks/execute.js';
import { runCli } from './run.js';

const NOTEBOOKS = path.join(PROJECT_ROOT, 'notebooks');

const program = new Command('notebooks')
  .description('Execute every notebook in notebooks/ with tslab on the given data and save the outputs into the .ipynb files.')
  .option('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root (required unless --clear)')
  .option('--models <dir>', 'folder of model folders', 'models')
  .addOption(new Option('--usage <usage>', 'rows the evaluation notebooks score').choices([...USAGES]).default('PublicTest'))
  .option('--only <names...>', 'only these notebooks (file names or their start, e.g. 03)')
  .option('--out <dir>', 'write the executed notebooks there instead of over notebooks/*.ipynb')
  .option('--timeout <minutes>', 'give up on a notebook after this long', toMinutes, 30)
  .option('--clear', 'remove every output instead (the notebooks as committed before a real run)')
  .action(main);

function toMinutes(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new Error(`not a positive number of minutes: ${v}`);
  return n;
}

interface Opts {
  data?: string;
  models: string;
  usage: Usage;
  only?: string[];
  out?: string;
  timeout: number;
  clear?: boolean;
}

async function main(o: Opts): Promise<void> {
  const files = fs
    .readdirSync(NOTEBOOKS)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .filter((f) => !o.only || o.only.some((n) => f === n || f.startsWith(n)));
  if (files.length === 0) throw new Error(`no notebook in notebooks/ matches ${o.only?.join(', ')}`);
  const outDir = o.out ? path.resolve(o.out) : NOTEBOOKS;
  if (o.clear) {
    fs.mkdirSync(outDir, { recursive: true });
    for (const f of files)
      fs.writeFileSync(path.join(outDir, f), serialiseNotebook(clearedNotebook(readNotebook(path.join(NOTEBOOKS, f)))));
    console.error(`cleared ${files.join(', ')}`);
    return;
  }
  if (!o.data) throw new Error('--data is required: the path of fer2013.csv(.gz) or an image-folder root');
  const data = path.resolve(o.data);
  const models = path.resolve(o.models);
  if (!fs.existsSync(data)) throw new Error(`no such data file or folder: ${o.data}`);
  if (!fs.statSync(models, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`no such models folder: ${o.models}`);
  fs.mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, EKSPRESI_NOTEBOOK_DATA: data, EKSPRESI_NOTEBOOK_MODELS: models, EKSPRESI_NOTEBOOK_USAGE: o.usage };
  // Outputs are committed: none may show where things live on this machine.
  const local = [PROJECT_ROOT, os.homedir(), os.tmpdir(), path.dirname(data), models].filter((p) => p !== '/');
  for (const f of files) {
    console.error(`${f}: running...`);
    const run = await executeNotebook(path.join(NOTEBOOKS, f), { env, timeoutMs: o.timeout * 60_000 });
    if (run.failed !== null)
      throw new Error(
        `${f}: cell ${run.failed + 1} failed after ${run.seconds.toFixed(0)} s, nothing written:\n${run.error.trim().slice(-3000)}`,
      );
    const leaks = localPathsIn(run.notebook, local);
    if (leaks.length)
      throw new Error(`${f}: outputs show local paths (${leaks.map((l) => `cell ${l.cell + 1}: ${l.path}`).join('; ')}); nothing written`);
    fs.writeFileSync(path.join(outDir, f), serialiseNotebook(run.notebook));
    const images = run.notebook.cells
      .flatMap((c) => c.outputs ?? [])
      .filter((x) => x.output_type === 'display_data' && 'image/png' in x.data).length;
    console.error(`${f}: ${run.seconds.toFixed(0)} s, outputs ${(outputBytes(run.notebook) / 1024).toFixed(0)} KB (${images} PNG)`);
  }
}

await runCli(program);
