/**
 * The models the server offers. Every subfolder of the models directory that
 * holds model.json + card.json is loaded once at start-up, then every ensemble
 * folder (card.json naming member folders) on top of the loaded networks; a
 * folder that is broken is skipped with its reason so the others still serve.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { initBackend, tf } from '../tf/backend.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';
import { readCard } from '../artifacts/card.js';
import type { ModelCard } from '../artifacts/card.js';
import type { CompiledModel, InferenceFn } from './fused-model.js';
import { readyNetwork } from './ready-network.js';

/** One trained network. */
export interface LoadedNetwork {
  kind: 'network';
  /** The folder name: what `?model=` and the picker use. */
  id: string;
  dir: string;
  card: ModelCard;
  model: tf.LayersModel;
  /**
   * What predictions call: the model compiled with its batch norms and ReLUs fused into the convolutions
   * (fused-model.ts), or `model.predict` for a model that does not compile. Gradients (Grad-CAM) use `model`.
   */
  run: InferenceFn;
  compiled: CompiledModel | null;
  /** False when the last layer gives logits; predict then applies softmax. */
  outputsProbabilities: boolean;
}

/** Several networks whose probabilities are averaged (card `members`). */
export interface LoadedEnsemble {
  kind: 'ensemble';
  id: string;
  dir: string;
  card: ModelCard;
  members: LoadedNetwork[];
}

export type LoadedModel = LoadedNetwork | LoadedEnsemble;

export interface SkippedModel {
  id: string;
  reason: string;
}

export interface ModelRegistry {
  /** Loaded models, best first. */
  models: LoadedModel[];
  skipped: SkippedModel[];
  /** Id of the model used when a request names none (null when there are none). */
  defaultId: string | null;
  /** The named model, or the default; undefined when the name is unknown. */
  get(id?: string | null): LoadedModel | undefined;
}

/** PublicTest accuracy from the card, or -1 when the card has none. */
export function cardAccuracy(card: ModelCard): number {
  const acc = card.metrics?.PublicTest?.accuracy;
  return typeof acc === 'number' && Number.isFinite(acc) ? acc : -1;
}

/**
 * Loads one folder (artifacts/ checks it) and warms it up; throws with the reason.
 * An ensemble's members come from `loaded` when there, else from its sibling folders.
 */
export async function loadModelEntry(dir: string, loaded: ReadonlyMap<string, LoadedModel> = new Map()): Promise<LoadedModel> {
  const card = await readCard(dir);
  return card.members ? loadEnsemble(dir, card, card.members, loaded) : loadNetwork(dir);
}

async function loadEnsemble(
  dir: string,
  card: ModelCard,
  names: string[],
  loaded: ReadonlyMap<string, LoadedModel>,
): Promise<LoadedEnsemble> {
  const members: LoadedNetwork[] = [];
  for (const name of names) {
    const have = loaded.get(name);
    if (have?.kind === 'ensemble') throw new Error(`member ${name} is itself an ensemble`);
    if (have) {
      members.push(have);
      continue;
    }
    const m = await loadModelEntry(path.join(path.dirname(dir), name)).catch((e: Error) => {
      throw new Error(`member ${name}: ${e.message}`);
    });
    if (m.kind === 'ensemble') throw new Error(`member ${name} is itself an ensemble`);
    members.push(m);
  }
  return { kind: 'ensemble', id: path.basename(dir), dir, card, members };
}

async function loadNetwork(dir: string): Promise<LoadedNetwork> {
  const id = path.basename(dir);
  const { card, model } = await loadTrainedModel(dir);
  try {
    return { kind: 'network', id, dir, card, model, ...readyNetwork(model, card.input) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function makeRegistry(models: LoadedModel[], skipped: SkippedModel[]): ModelRegistry {
  models.sort((a, b) => cardAccuracy(b.card) - cardAccuracy(a.card) || a.id.localeCompare(b.id));
  const byId = new Map(models.map((m) => [m.id, m]));
  const defaultId = models[0]?.id ?? null;
  return {
    models,
    skipped,
    defaultId,
    get(id) {
      if (id == null || id === '') return defaultId == null ? undefined : byId.get(defaultId);
      return byId.get(id);
    },
  };
}

/**
 * Scans `modelsDir` and loads every model folder in it. A missing directory
 * gives an empty registry (the server then shows how to train a model).
 */
export async function loadRegistry(modelsDir: string, log: (msg: string) => void = () => {}): Promise<ModelRegistry> {
  await initBackend(undefined, log);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(modelsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      log(`models: ${modelsDir} does not exist; no models to serve`);
      return makeRegistry([], []);
    }
    throw e;
  }
  const models: LoadedModel[] = [];
  const skipped: SkippedModel[] = [];
  // Hidden folders are atomic-write temporaries (.name.tmp-*), never models.
  const names = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const isEnsemble = (name: string) =>
    existsSync(path.join(modelsDir, name, 'card.json')) && !existsSync(path.join(modelsDir, name, 'model.json'));
  const loaded = new Map<string, LoadedModel>();
  // Networks first, so ensembles share their members' weights. Sequential on
  // purpose: loading is start-up only, and two cores are better spent on one
  // model at a time than on contention.
  for (const name of [...names.filter((n) => !isEnsemble(n)), ...names.filter(isEnsemble)]) {
    const dir = path.join(modelsDir, name);
    try {
      const m = await loadModelEntry(dir, loaded);
      models.push(m);
      loaded.set(m.id, m);
      const acc = cardAccuracy(m.card);
      log(`models: loaded ${m.id} (${m.card.arch}${acc >= 0 ? `, PublicTest accuracy ${(acc * 100).toFixed(1)}%` : ''})`);
      if (m.kind === 'network' && !m.compiled)
        log(`models: ${m.id} runs layer by layer (it does not compile to fused kernels; slower, same answers)`);
    } catch (e) {
      const reason = (e as Error).message;
      skipped.push({ id: name, reason });
      log(`models: skipped ${name}: ${reason}`);
    }
  }
  const registry = makeRegistry(models, skipped);
  if (registry.defaultId) log(`models: default is ${registry.defaultId}`);
  return registry;
}

/** Frees a network's weights; an ensemble's members are freed as the networks they are. */
export function disposeEntry(entry: LoadedModel): void {
  if (entry.kind === 'network') {
    entry.compiled?.dispose();
    entry.model.dispose();
  }
}

/** Frees a model loaded on its own (loadModelEntry without `loaded`): an ensemble's members are its own then, not a registry's. */
export function disposeStandaloneEntry(entry: LoadedModel): void {
  if (entry.kind === 'ensemble') entry.members.forEach(disposeEntry);
  disposeEntry(entry);
}

/** Frees every model's weights (tests and shutdown). */
export function disposeRegistry(registry: ModelRegistry): void {
  for (const m of registry.models) disposeEntry(m);
}
