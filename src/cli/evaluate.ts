/**
 * npm run evaluate -- --model DIR --data PATH [--usage Training|PublicTest|PrivateTest] [--json] [--tta | --no-tta]
 */
import { Command, Option } from 'commander';
import { initBackend } from '../tf/backend.js';
import { loadDataSet } from '../training/dataset.js';
import { loadModelEntry } from '../inference/registry.js';
import { evaluateEntry, splitMetrics } from '../training/evaluate.js';
import { formatReport } from '../training/report.js';
import { servedWith, ttaOf, type TtaKind } from '../inference/tta.js';
import { USAGES, type Usage } from '../types.js';
import type { EvalReport } from '../artifacts/card.js';
import { runCli } from './run.js';
import { defaultUsage, splitOf } from './usage.js';

const program = new Command('evaluate')
  .description('Evaluate a trained model on FER2013 rows: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix.')
  .requiredOption('--model <dir>', 'model folder (models/<name>; an ensemble folder loads its members from beside it)')
  .requiredOption('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root')
  .addOption(new Option('--usage <usage>', 'which rows (default: PrivateTest if present, else PublicTest)').choices([...USAGES]))
  .option('--json', 'print one JSON object (DESIGN.md) on stdout')
  .option(
    '--tta',
    "test-time augmentation: the card's views (flip, or shift's ten), or flip if the card has none (default: as the model card says, i.e. as the demo serves it)",
  )
  .option('--no-tta', 'no test-time augmentation, whatever the card says')
  .option('--skip-bad', 'skip bad data rows instead of stopping')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

interface Opts {
  model: string;
  data: string;
  usage?: Usage;
  json?: boolean;
  tta?: boolean;
  skipBad?: boolean;
  backend?: string;
}

async function main(o: Opts): Promise<void> {
  const log = o.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
  await initBackend(o.backend, log);
  const entry = await loadModelEntry(o.model);
  const { card } = entry;
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, onWarning: (w) => console.error(w) });
  const usage = o.usage ?? defaultUsage([...data.keys()]);
  const split = splitOf(data, usage, o.data);
  // The model as served: the card's TTA unless --tta / --no-tta says otherwise.
  const r = await evaluateEntry(entry, split, { tta: o.tta });
  const networks = entry.kind === 'ensemble' ? entry.members : [entry];
  const note = ttaNote(
    networks.map((m) => ttaOf(m.card.tta, o.tta)),
    networks.map((m) => m.card.name),
  );
  const report: EvalReport = {
    model: card.name,
    usage,
    ...splitMetrics(r),
  };
  if (o.json) process.stdout.write(JSON.stringify(report) + '\n');
  else console.log(formatReport(report, note));
}

/** The report's note on TTA: none when no network uses it; an ensemble whose members differ names each one's. */
function ttaNote(kinds: TtaKind[], names: string[]): string {
  if (kinds.every((k) => k === kinds[0])) return kinds[0] === 'none' ? '' : servedWith(kinds[0]);
  return `members: ${kinds.map((k, i) => `${names[i]} ${servedWith(k)}`).join(', ')}`;
}

await runCli(program);
