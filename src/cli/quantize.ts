/**
 * npm run quantize -- --model DIR [--out DIR]
 * Rewrites a model folder with float16 weights (half the size); the card
 * records it. Evaluate before and after to check that accuracy holds.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../tf/backend.js';
import { saveModelFolder, writeFolderAtomically } from '../tf/model-io.js';
import { loadDataSet } from '../training/dataset.js';
import { evaluateSplit } from '../training/evaluate.js';
import type { ModelCard } from '../types.js';
import { loadTrainedModel } from '../training/model-folder.js';
import { runCli } from './run.js';

const program = new Command('quantize')
  .description('Store a model\'s weights as float16 (written atomically; the card records it).')
  .requiredOption('--model <dir>', 'model folder (models/<name>)')
  .option('--out <dir>', 'where to write (default: replace --model)')
  .option('--data <path>', 'FER2013 data: re-measure the card\'s PublicTest metrics with the float16 weights')
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(async (o: { model: string; out?: string; data?: string; backend?: string }) => {
    await initBackend(o.backend);
    const { card, model } = await loadTrainedModel(o.model);
    if (card.quantization === 'float16') throw new Error(`${o.model} is already float16`);
    const before = (await fs.stat(path.join(o.model, 'weights.bin'))).size;
    const out = o.out ?? o.model;
    await saveModelFolder(out, model, { 'card.json': JSON.stringify({ ...card, quantization: 'float16' }, null, 1) }, 'float16');
    const after = (await fs.stat(path.join(out, 'weights.bin'))).size;
    console.log(`${out}: weights ${(before / 1e6).toFixed(2)} MB -> ${(after / 1e6).toFixed(2)} MB (float16)`);
    if (o.data) {
      // The card's figures must describe the weights it ships with.
      const data = await loadDataSet(o.data, { usages: ['PublicTest'] });
      const split = data.get('PublicTest');
      if (!split) throw new Error(`${o.data} has no PublicTest rows`);
      const half = await loadTrainedModel(out);
      const { loss: _loss, predicted: _p, ...metrics } = await evaluateSplit(half.model, half.card.input, split);
      const old = card.metrics.PublicTest?.accuracy;
      await writeFolderAtomically(out, await folderFiles(out, { ...half.card, metrics: { ...half.card.metrics, PublicTest: metrics } }));
      console.log(`PublicTest accuracy ${old?.toFixed(4) ?? '?'} (float32) -> ${metrics.accuracy.toFixed(4)} (float16)`);
    }
  });

/** The folder's files with a new card.json. */
async function folderFiles(dir: string, card: ModelCard): Promise<Record<string, string | Uint8Array>> {
  const files: Record<string, string | Uint8Array> = {};
  for (const name of await fs.readdir(dir)) files[name] = new Uint8Array(await fs.readFile(path.join(dir, name)));
  files['card.json'] = JSON.stringify(card, null, 1);
  return files;
}

await runCli(program);
