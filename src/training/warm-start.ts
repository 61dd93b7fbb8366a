/**
 * Warm starts (--init): a run that begins from the weights of an earlier
 * model folder, and whose card then tells the earlier run's history too.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { tf } from '../tf/backend.js';
import type { ModelCard } from '../artifacts/card.js';
import { loadModelFolder } from '../artifacts/model-folder.js';
import type { PriorRun, RunState } from './checkpoint.js';
import type { TrainSettings } from './config.js';

/** The history of the run behind a model folder: a checkpoint's state.json or an artifact's card.json (null: neither). */
export async function readPriorRun(dir: string, log: (m: string) => void, depth = 0): Promise<PriorRun | null> {
  const read = async (file: string) => JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as Partial<RunState & ModelCard>;
  const found = await read('state.json')
    .catch(() => read('card.json'))
    .catch(() => null);
  if (!found?.history) {
    log(`${dir} has no training history (state.json or card.json): the card will only tell this run`);
    return null;
  }
  if (found.train_seconds !== undefined) {
    // An artifact's card already tells its whole training, warm starts included.
    return { from: dir, history: found.history, trainSeconds: found.train_seconds };
  }
  // A checkpoint tells only its own run: prepend the one it was warm-started from, if any.
  const init = (found.settings as Partial<TrainSettings> | undefined)?.init;
  const before = found.prior !== undefined ? found.prior : init && depth < 8 ? await readPriorRun(init, log, depth + 1) : null;
  const offset = before?.history.length ?? 0;
  return {
    from: dir,
    history: [...(before?.history ?? []), ...found.history.map((e) => ({ ...e, epoch: e.epoch + offset }))],
    trainSeconds: (before?.trainSeconds ?? 0) + (found.trainSeconds ?? 0),
  };
}

/** Copies every weight of the model folder `dir` into `model` (same architecture), for a warm start. */
export async function initWeights(model: tf.LayersModel, dir: string, log: (m: string) => void): Promise<void> {
  const src = await loadModelFolder(dir).catch((e: Error) => {
    throw new Error(`--init ${dir}: ${e.message}`);
  });
  try {
    const from = src.getWeights(),
      to = model.getWeights();
    const same = from.length === to.length && from.every((w, i) => w.shape.join('x') === to[i].shape.join('x'));
    if (!same)
      throw new Error(`--init ${dir}: its weights do not fit this architecture (check --arch and the --cnn-*/--input-size options)`);
    model.setWeights(from);
    log(`started from the weights in ${dir}`);
  } finally {
    src.dispose();
  }
}
