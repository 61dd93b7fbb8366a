/**
 * npm run calibrate -- --model DIR [--model DIR ...] --data PATH [--usage U] [--dry-run] [--json]
 * Fits each model's temperature on FER2013 rows (default PublicTest) and
 * stores it in its card.json as `calibration`; the demo and the API then
 * apply it to every prediction.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { initBackend } from '../tf/backend.js';
import { calibrateFolder } from '../training/calibrate-folder.js';
import { writeCard } from '../artifacts/card.js';
import { loadDataSet } from '../training/dataset.js';
import { USAGES, type Usage } from '../types.js';
import { runCli } from './run.js';
import { splitOf } from './usage.js';

const program = new Command('calibrate')
  .description(
    'Fit a temperature per model (lowest negative log-likelihood) so its scores match how often it is right; stored in card.json.',
  )
  .requiredOption(
    '--model <dir>',
    'model folder (models/<name>); repeat for several',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .requiredOption('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root')
  .addOption(new Option('--usage <usage>', 'which rows to fit on').choices([...USAGES]).default('PublicTest'))
  .option('--dry-run', 'print the fit, do not write card.json')
  .option('--json', 'print one JSON object per model on stdout')
  .option('--skip-bad', 'skip bad data rows instead of stopping')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

interface Opts {
  model: string[];
  data: string;
  usage: Usage;
  dryRun?: boolean;
  json?: boolean;
  skipBad?: boolean;
  backend?: string;
}

async function main(o: Opts): Promise<void> {
  const log = (m: string) => console.error(m);
  await initBackend(o.backend, log);
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, usages: [o.usage], onWarning: log });
  const split = splitOf(data, o.usage, o.data);
  const fittedOn = `${path.basename(path.resolve(o.data))} ${o.usage} (${split.size} faces)`;
  for (const dir of o.model) {
    const { card, calibration } = await calibrateFolder(dir, split, fittedOn);
    if (!o.dryRun) await writeCard(dir, card);
    if (o.json) {
      process.stdout.write(JSON.stringify({ model: card.name, dir, written: !o.dryRun, ...calibration }) + '\n');
      continue;
    }
    console.log(`${card.name}: temperature ${calibration.temperature.toFixed(3)} on ${fittedOn}`);
    console.log(
      `  ECE ${calibration.ece_before.toFixed(4)} -> ${calibration.ece_after.toFixed(4)}, NLL ${calibration.nll_before!.toFixed(4)} -> ${calibration.nll_after!.toFixed(4)}`,
    );
    console.log(o.dryRun ? '  (dry run: card.json not written)' : `  wrote ${path.join(dir, 'card.json')}`);
  }
}

await runCli(program);
