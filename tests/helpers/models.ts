/**
 * A throwaway models folder for tests: two tiny random CNNs with cards (one
 * asks for flip TTA), plus broken folders the registry must skip.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildCustomCnn, CNN_INPUT } from '../../src/training/architectures/custom-cnn.js';
import { initBackend } from '../../src/tf/backend.js';
import { saveModelFolder } from '../../src/artifacts/model-folder.js';
import { LABELS, type Label } from '../../src/types.js';
import type { ClassMetrics, ModelCard } from '../../src/artifacts/card.js';

export function testCard(name: string, accuracy: number, extra: Partial<ModelCard> = {}): ModelCard {
  return {
    name,
    arch: 'cnn',
    input: CNN_INPUT,
    labels: [...LABELS],
    trained_on: 'nothing (random weights for tests)',
    params: 0,
    created: new Date(0).toISOString(),
    metrics: {
      PublicTest: {
        n: 0,
        accuracy,
        macro_f1: 0,
        per_class: Object.fromEntries(LABELS.map((l) => [l, { precision: 0, recall: 0, f1: 0, support: 0 }])) as Record<
          Label,
          ClassMetrics
        >,
        confusion: [],
      },
    },
    history: [],
    ...extra,
  };
}

export interface TestModels {
  dir: string;
  cleanup(): Promise<void>;
}

/** The custom CNN of every test model: tiny, so building, saving and loading take moments. */
export const TINY_CNN = { widths: [4, 8], convsPerBlock: [1, 1], dense: 8 };

/** Saves a tiny random CNN (weights from `seed`) with `card` as <modelsDir>/<card.name>. */
export async function saveTinyModel(modelsDir: string, card: ModelCard, seed: number): Promise<void> {
  await saveModelFolder(path.join(modelsDir, card.name), buildCustomCnn({ ...TINY_CNN, seed }), { 'card.json': JSON.stringify(card) });
}

export async function makeTestModels(): Promise<TestModels> {
  await initBackend();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-models-'));
  await saveTinyModel(dir, testCard('tiny-a', 0.4), 1);
  await saveTinyModel(dir, testCard('tiny-b', 0.55, { tta: 'flip' }), 2);
  // Broken on purpose: a card but no model, and a model.json that is not JSON.
  await fs.mkdir(path.join(dir, 'no-model'));
  await fs.writeFile(path.join(dir, 'no-model', 'card.json'), JSON.stringify(testCard('no-model', 0.99)));
  await fs.mkdir(path.join(dir, 'corrupt'));
  await fs.writeFile(path.join(dir, 'corrupt', 'model.json'), '{ not json');
  await fs.writeFile(path.join(dir, 'corrupt', 'card.json'), JSON.stringify(testCard('corrupt', 0.98)));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}
