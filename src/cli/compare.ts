/**
 * npm run compare -- --data PATH [--usage U] [--models DIR] [--out FILE] [--no-peers] [--pair A,B]...
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { initBackend } from '../tf/backend.js';
import { loadDataSet } from '../training/dataset.js';
import { compareModels, DEFAULT_PAIRS, formatComparison, listModelFolders, writeComparison } from '../compare/compare.js';
import { PEERS } from '../compare/peers.js';
import { USAGES, type Usage } from '../types.js';
import { runCli } from './run.js';
import { defaultUsage, splitOf } from './usage.js';

const program = new Command('compare')
  .description(
    'Evaluate every model in models/ (and the face-api and human peer models) on the same FER2013 rows; writes comparison.json for the /compare page.',
  )
  .requiredOption('--data <path>', 'fer2013.csv, .csv.gz, or a train/test image-folder root')
  .addOption(
    new Option('--usage <usage>', 'which rows (default: PrivateTest if present, else PublicTest, as evaluate)').choices([...USAGES]),
  )
  .option('--models <dir>', 'folder of model folders', 'models')
  .option('--out <file>', 'where to write the JSON (default: <models>/comparison.json)')
  .option('--no-peers', 'leave out the face-api and human peer models')
  .option(
    '--pair <a,b>',
    "also run McNemar's test between these two models (folder names or peer ids; repeatable), e.g. a retrained model against the shipped one",
    collectPair,
    [] as Array<[string, string]>,
  )
  .option('--latency-runs <n>', 'timed single-face predictions per model', toInt, 50)
  .option('--skip-bad', 'skip bad data rows instead of stopping')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive whole number: ${v}`);
  return n;
}

function collectPair(v: string, pairs: Array<[string, string]>): Array<[string, string]> {
  const ids = v.split(',').map((s) => s.trim());
  if (ids.length !== 2 || !ids[0] || !ids[1] || ids[0] === ids[1])
    throw new InvalidArgumentError('two different model names separated by a comma, e.g. custom-cnn,my-cnn');
  return [...pairs, [ids[0], ids[1]]];
}

/** Fails before minutes of evaluation when a --pair names a model that will not be there. */
async function checkPairs(pairs: Array<[string, string]>, modelsDir: string, peers: boolean): Promise<void> {
  const folders = await listModelFolders(modelsDir);
  const known = new Set([...folders, ...(peers ? PEERS.map((p) => p.id) : [])]);
  for (const id of pairs.flat())
    if (!known.has(id)) throw new Error(`--pair: no model named "${id}" in ${modelsDir} (have: ${[...known].join(', ') || 'none'})`);
}

/** The default pairs plus the asked-for ones, each unordered pair once. */
function withDefaults(pairs: Array<[string, string]>): Array<readonly [string, string]> {
  const all: Array<readonly [string, string]> = [...DEFAULT_PAIRS];
  const key = ([a, b]: readonly [string, string]) => [a, b].sort().join('\n');
  for (const p of pairs) if (!all.some((q) => key(q) === key(p))) all.push(p);
  return all;
}

interface Opts {
  data: string;
  usage?: Usage;
  models: string;
  out?: string;
  peers: boolean;
  pair: Array<[string, string]>;
  latencyRuns: number;
  skipBad?: boolean;
  backend?: string;
}

async function main(o: Opts): Promise<void> {
  const log = (m: string) => console.error(m);
  await checkPairs(o.pair, o.models, o.peers);
  await initBackend(o.backend, log);
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, usages: o.usage ? [o.usage] : undefined, onWarning: log });
  const usage = o.usage ?? defaultUsage([...data.keys()]);
  const split = splitOf(data, usage, o.data);
  const comparison = await compareModels({
    modelsDir: o.models,
    split,
    usage,
    dataName: path.basename(path.resolve(o.data)),
    peers: o.peers ? undefined : [],
    pairs: withDefaults(o.pair),
    latencyRuns: o.latencyRuns,
    log,
  });
  if (!comparison.models.some((m) => m.kind === 'ours')) log(`note: no model folders with a card.json in ${o.models}`);
  const out = o.out ?? path.join(o.models, 'comparison.json');
  await writeComparison(out, comparison);
  console.log(formatComparison(comparison));
  console.log(`\nwrote ${out}`);
}

await runCli(program);
