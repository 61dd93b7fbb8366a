/**
 * npm run quantize -- --model DIR [--out DIR]
 * Rewrites a model folder with float16 weights (half the size); the card
 * records it. With --data, the card's PublicTest figures and its TTA choice
 * are measured again on the float16 weights, so they describe what ships.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { initBackend } from '../tf/backend.js';
import { loadModelFromFiles, modelFiles } from '../artifacts/model-folder.js';
import { writeFolderAtomically } from '../artifacts/atomic.js';
import { loadDataSet } from '../training/dataset.js';
import { chooseTta, describeTtaChoice } from '../training/choose-tta.js';
import { servedWith } from '../inference/tta.js';
import type { ModelCard } from '../artifacts/card.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';
import { runCli } from './run.js';
import { splitOf } from './usage.js';

const program = new Command('quantize')
  .description("Store a model's weights as float16 (written atomically; the card records it).")
  .requiredOption('--model <dir>', 'model folder (models/<name>)')
  .option('--out <dir>', 'where to write (default: replace --model)')
  .option(
    '--data <path>',
    "FER2013 data: measure the card's PublicTest metrics and its TTA choice (none, flip or shift) again on the float16 weights",
  )
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(async (o: { model: string; out?: string; data?: string; backend?: string }) => {
    await initBackend(o.backend);
    const { card, model } = await loadTrainedModel(o.model);
    if (card.quantization === 'float16') throw new Error(`${o.model} is already float16`);
    const files = await modelFiles(model, 'float16');
    let newCard: ModelCard = { ...card, quantization: 'float16' };
    if (o.data) {
      // The card's figures must describe the weights it ships with: measure them before writing.
      const data = await loadDataSet(o.data, { usages: ['PublicTest'] });
      const split = splitOf(data, 'PublicTest', o.data);
      const half = await loadModelFromFiles(files);
      const chosen = await chooseTta(half, newCard, split, 'PublicTest').finally(() => half.dispose());
      console.log(
        `PublicTest accuracy ${card.metrics.PublicTest?.accuracy.toFixed(4) ?? '?'} (float32, as its card says) -> ${chosen.metrics.PublicTest!.accuracy.toFixed(4)} (float16, ${servedWith(chosen.tta)})`,
      );
      console.log(describeTtaChoice(chosen));
      newCard = chosen;
    }
    const before = (await fs.stat(path.join(o.model, 'weights.bin'))).size;
    const out = o.out ?? o.model;
    await writeFolderAtomically(out, { ...files, 'card.json': JSON.stringify(newCard, null, 1) });
    const after = (files['weights.bin'] as Uint8Array).byteLength;
    console.log(`${out}: weights ${(before / 1e6).toFixed(2)} MB -> ${(after / 1e6).toFixed(2)} MB (float16)`);
  });

await runCli(program);
