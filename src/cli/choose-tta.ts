/**
 * npm run choose-tta -- --model DIR [--model DIR ...] --data PATH [--dry-run]
 * Chooses a trained model folder's test-time augmentation again (none, flip
 * or shift, training/choose-tta.ts) on PublicTest, as a finished run does on
 * its validation split, and rewrites its card.json: `tta`, `tta_choice` and
 * the PublicTest metrics as served. The weights are measured as they are in
 * the folder (float16 when quantized), with no retraining.
 */
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../tf/backend.js';
import { loadDataSet, type Split } from '../training/dataset.js';
import { chooseTta, chooseTtaForFolder, describeTtaChoice } from '../training/choose-tta.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';
import { runCli } from './run.js';
import { splitOf } from './usage.js';

const program = new Command('choose-tta')
  .description(
    'Measure a model folder on PublicTest without TTA, with flip (2 views) and with shift (10 views); write the choice (each step must add the least gain) into card.json.',
  )
  .requiredOption(
    '--model <dir>',
    'model folder (models/<name>; not an ensemble, whose members keep their own); repeat for several',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .requiredOption('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root (its PublicTest rows)')
  .option('--dry-run', 'print the choice, do not write card.json')
  .option('--skip-bad', 'skip bad data rows instead of stopping')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

interface Opts {
  model: string[];
  data: string;
  dryRun?: boolean;
  skipBad?: boolean;
  backend?: string;
}

async function main(o: Opts): Promise<void> {
  const log = (m: string) => console.error(m);
  await initBackend(o.backend, log);
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, usages: ['PublicTest'], onWarning: log });
  const split = splitOf(data, 'PublicTest', o.data);
  for (const dir of o.model) {
    const chosen = o.dryRun ? await dryRun(dir, split) : await chooseTtaForFolder(dir, split, 'PublicTest');
    console.log(describeTtaChoice(chosen));
    console.log(o.dryRun ? '  (dry run: card.json not written)' : `  wrote ${path.join(dir, 'card.json')}`);
  }
}

async function dryRun(dir: string, split: Split) {
  const { card, model } = await loadTrainedModel(dir);
  try {
    return await chooseTta(model, card, split, 'PublicTest');
  } finally {
    model.dispose();
  }
}

await runCli(program);
