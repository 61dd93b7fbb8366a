/**
 * The models a bench section serves: every model in models/, or, when there
 * is none, an untrained custom CNN of the default architecture in a temporary
 * folder (its weights do not change the time; the section says so).
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadRegistry, type ModelRegistry } from '../inference/registry.js';
import { saveModelFolder } from '../artifacts/model-folder.js';
import { buildCustomCnn, CNN_INPUT } from '../training/architectures/custom-cnn.js';
import { LABELS } from '../types.js';
import type { ModelCard } from '../artifacts/card.js';

export interface BenchModels {
  /** The folder the registry was loaded from (the CLI child gets the same). */
  dir: string;
  registry: ModelRegistry;
  /** True when no real model was found and the stand-in is served. */
  standIn: boolean;
  cleanup(): Promise<void>;
}

export async function benchModels(modelsDir: string, log: (m: string) => void): Promise<BenchModels> {
  const registry = await loadRegistry(modelsDir, log);
  if (registry.models.length > 0) return { dir: modelsDir, registry, standIn: false, cleanup: async () => {} };
  log(`bench: no model in ${modelsDir}; timing an untrained custom CNN of the default architecture instead`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ekspresi-bench-'));
  const card: ModelCard = {
    name: 'custom-cnn-untrained',
    arch: 'cnn',
    input: CNN_INPUT,
    labels: [...LABELS],
    trained_on: 'nothing (bench stand-in)',
    params: 0,
    created: new Date().toISOString(),
    metrics: {},
    history: [],
  };
  await saveModelFolder(path.join(dir, card.name), buildCustomCnn(), { 'card.json': JSON.stringify(card) });
  return { dir, registry: await loadRegistry(dir, log), standIn: true, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}
