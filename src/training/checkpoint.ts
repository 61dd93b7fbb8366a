/**
 * The checkpoint of a run, runs/<name>/checkpoint/, rewritten atomically at
 * every epoch end (and on SIGINT/SIGTERM, and every few minutes mid-epoch):
 * the model (model.json + weights.bin), the optimizer's variables
 * (optimizer.json + .bin), the weight average when there is one
 * (average.json + .bin) and the run state (state.json). `--resume` reads it
 * back and continues the very same run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf/backend.js';
import type { HistoryEntry } from '../artifacts/card.js';
import { loadModelFolder, modelFiles } from '../artifacts/model-folder.js';
import { recoverFolder, writeFolderAtomically } from '../artifacts/atomic.js';
import type { TrainSettings } from './config.js';
import type { WeightAverage } from './weight-average.js';

/** Everything `--resume` needs besides the weights (state.json). */
export interface RunState {
  settings: TrainSettings;
  trainedOn: string;
  valName: string;
  /** The command line that started the run (see TrainData). */
  command?: string;
  /** Last completed epoch (1-based; 0 before the first). */
  epoch: number;
  /** Next batch of the current epoch (mid-epoch checkpoints). */
  batch: number;
  partial: { loss: number; correct: number; seen: number; seconds: number };
  lr: number;
  history: HistoryEntry[];
  best: { val_acc: number; epoch: number };
  bestPerPhase: Record<string, { val_acc: number; epoch: number }>;
  /** The best epoch of each cosine cycle so far, by its folder name (see cycleSnapshotName; absent in older runs). */
  bestPerCycle?: Record<string, { val_acc: number; epoch: number }>;
  plateauWait: number;
  plateauBest: number;
  earlyWait: number;
  trainSeconds: number;
  phase: string;
  /** Optimisation steps folded into the weight average so far. */
  averageSteps?: number;
  /** The run that --init started from, so the card tells the whole training (absent: none, or not read yet). */
  prior?: PriorRun | null;
}

/** An earlier run whose weights a warm start (--init) took over. */
export interface PriorRun {
  from: string;
  history: HistoryEntry[];
  trainSeconds: number;
}

export const checkpointDir = (runDir: string): string => path.join(runDir, 'checkpoint');

export async function saveCheckpoint(
  dir: string,
  model: tf.LayersModel,
  opt: tf.Optimizer,
  state: RunState,
  avg: WeightAverage | null,
): Promise<void> {
  const files = await modelFiles(model);
  const optWeights = await opt.getWeights();
  const { data, specs } = await tf.io.encodeWeights(optWeights);
  const average = avg ? await tf.io.encodeWeights(avg.named()) : null;
  await writeFolderAtomically(dir, {
    ...files,
    'optimizer.bin': new Uint8Array(data as ArrayBuffer),
    'optimizer.json': JSON.stringify(specs),
    ...(average ? { 'average.bin': new Uint8Array(average.data as ArrayBuffer), 'average.json': JSON.stringify(average.specs) } : {}),
    'state.json': JSON.stringify(state, null, 1),
  });
}

/**
 * The saved run state with the saved weights put into `model`. Settings are the saved ones, except that the
 * epoch budget (epochs, cycle length) may grow; runs saved before sampling, schedules, the weight average or
 * focal loss existed used none of them.
 */
export async function restoreRun(
  dir: string,
  model: tf.LayersModel,
  budget: Pick<TrainSettings, 'epochs' | 'cosineCycle'>,
): Promise<RunState> {
  await recoverFolder(dir);
  const saved = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as RunState;
  const old: Partial<TrainSettings> = saved.settings;
  const state: RunState = {
    ...saved,
    settings: {
      ...saved.settings,
      sampling: old.sampling ?? 'none',
      schedule: old.schedule ?? 'plateau',
      ema: old.ema ?? 0,
      loss: old.loss ?? 'ce',
      focalGamma: old.focalGamma ?? 2,
      epochs: budget.epochs,
      cosineCycle: budget.cosineCycle,
    },
  };
  const ck = await loadModelFolder(dir);
  try {
    // A different input size can fit the same weights (global pooling), so compare the inputs first.
    const side = (m: tf.LayersModel) => m.inputs[0].shape.slice(1).join('x');
    if (side(ck) !== side(model)) throw new Error(`its input is ${side(ck)}, this command's model takes ${side(model)}`);
    model.setWeights(ck.getWeights());
  } catch (e) {
    throw new Error(
      `--resume: the checkpoint in ${dir} does not fit the model this command builds (${(e as Error).message}); ` +
        'resume with the options the run was started with (its state.json "settings")',
      { cause: e },
    );
  } finally {
    ck.dispose();
  }
  return state;
}

/** Named tensors saved in the checkpoint as `<stem>.json` + `<stem>.bin`, in saved order (null: no such files). */
export async function readCheckpointTensors(dir: string, stem: string): Promise<Array<{ name: string; tensor: tf.Tensor }> | null> {
  const specsText = await fs.readFile(path.join(dir, `${stem}.json`), 'utf8').catch(() => null);
  if (specsText === null) return null;
  const specs = JSON.parse(specsText) as tf.io.WeightsManifestEntry[];
  if (specs.length === 0) return [];
  const buf = await fs.readFile(path.join(dir, `${stem}.bin`));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, specs);
  return specs.map((spec) => ({ name: spec.name, tensor: map[spec.name] }));
}

/** Puts the saved optimizer variables (Adam's moments and step count, SGD's momentum) into `opt`. */
export async function restoreOptimizer(dir: string, opt: tf.Optimizer): Promise<void> {
  const saved = await readCheckpointTensors(dir, 'optimizer');
  if (saved === null) throw new Error(`--resume: ${path.join(dir, 'optimizer.json')} is missing`);
  if (saved.length === 0) return;
  await opt.setWeights(saved);
  // setWeights wraps each tensor in a new variable (sharing its data): the decoded tensors themselves are ours to free.
  tf.dispose(saved.map((t) => t.tensor));
}
