/**
 * npm run ensemble -- --data PATH [--members a,b] [--name ensemble] [--models DIR] [--usage U]
 * Writes models/<name>/card.json: a model folder that averages the members' probabilities
 * (each as served, with its own TTA and temperature), measured on --usage rows like a trained model.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { initBackend } from '../tf/backend.js';
import { loadModelEntry, type LoadedNetwork } from '../inference/registry.js';
import { loadDataSet } from '../training/dataset.js';
import { evaluateEntry } from '../training/evaluate.js';
import { writeCard } from '../artifacts/card.js';
import { formatReport } from '../training/report.js';
import { ENSEMBLE_ARCH, type ModelCard } from '../artifacts/card.js';
import { FACE_SIZE, LABELS, USAGES, type Usage } from '../types.js';
import { runCommand } from './command-line.js';
import { runCli } from './run.js';
import { splitOf } from './usage.js';

const program = new Command('ensemble')
  .description('Make a model folder that averages the answers of trained models, and measure it.')
  .requiredOption('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root (for the measurement)')
  .option('--members <list>', 'model folders to average, comma-separated', 'custom-cnn,mobilenetv2')
  .option('--name <name>', 'the new folder', 'ensemble')
  .option('--models <dir>', 'the models folder holding the members', 'models')
  .addOption(
    new Option('--usage <usage>', "rows it is measured on (the members' validation rows)").choices([...USAGES]).default('PublicTest'),
  )
  .option('--skip-bad', 'skip bad data rows instead of stopping')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

interface Opts {
  data: string;
  members: string;
  name: string;
  models: string;
  usage: Usage;
  skipBad?: boolean;
  backend?: string;
}

async function main(o: Opts): Promise<void> {
  const members = o.members
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (members.length < 2) throw new Error(`--members: name two or more model folders (got "${o.members}")`);
  if (members.includes(o.name)) throw new Error(`--name ${o.name} is also one of the --members`);
  await initBackend(o.backend, (m) => console.error(m));
  const dir = path.join(o.models, o.name);
  const networks: LoadedNetwork[] = [];
  for (const name of members) {
    const m = await loadModelEntry(path.join(o.models, name)).catch((e: Error) => {
      throw new Error(`--members ${name}: ${e.message}`);
    });
    if (m.kind !== 'network') throw new Error(`--members ${name} is itself an ensemble`);
    networks.push(m);
  }
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, usages: [o.usage], onWarning: (w) => console.error(w) });
  const split = splitOf(data, o.usage, o.data);

  const card: ModelCard = {
    name: o.name,
    arch: ENSEMBLE_ARCH,
    members,
    // What a caller hands it: the 48x48 grey face; each member prepares its own input from it.
    input: { size: FACE_SIZE, channels: 1, normalisation: 'unit' },
    labels: [...LABELS],
    trained_on: `its members: ${networks.map((m) => `${m.id} (${m.card.trained_on})`).join('; ')}`,
    params: networks.reduce((sum, m) => sum + m.model.countParams(), 0),
    created: new Date().toISOString(),
    metrics: {},
    history: [],
    command: runCommand(process.argv.slice(2), 'ensemble'),
    train_seconds: networks.reduce((sum, m) => sum + (m.card.train_seconds ?? 0), 0),
    notes:
      `The mean of the probabilities of ${members.join(' and ')}, each as it is served (its own test-time augmentation and calibration temperature). ` +
      `It costs the members' time together; it is right more often than either when they err on different faces.`,
  };
  const { n, accuracy, macro_f1, per_class, confusion } = await evaluateEntry(
    { kind: 'ensemble', id: o.name, dir, card, members: networks },
    split,
  );
  card.metrics[o.usage] = { n, accuracy, macro_f1, per_class, confusion };
  await fs.mkdir(dir, { recursive: true });
  await writeCard(dir, card);
  for (const m of networks) m.model.dispose();
  console.log(formatReport({ model: o.name, usage: o.usage, ...card.metrics[o.usage]! }, `members: ${members.join(', ')}`));
  for (const m of networks) {
    const acc = m.card.metrics?.[o.usage]?.accuracy;
    if (acc !== undefined) console.log(`  ${m.id}: ${(acc * 100).toFixed(2)}% on ${o.usage} (its card)`);
  }
  console.log(`wrote ${path.join(dir, 'card.json')}`);
}

await runCli(program);
