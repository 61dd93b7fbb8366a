/**
 * The artifact a run leaves: models/<name>/ (and per phase, e.g.
 * mobilenetv2-frozen) written atomically with its card whenever validation
 * accuracy improves.
 */
import type { tf } from '../tf/backend.js';
import { LABELS } from '../types.js';
import { cardJson, shortFolderPath, shortPath, type EvalReport, type InputSpec, type ModelCard } from '../artifacts/card.js';
import { saveModelFolder } from '../artifacts/model-folder.js';
import type { RunState } from './checkpoint.js';
import { splitMetrics } from './evaluate.js';

export function cardFor(
  state: RunState,
  model: tf.LayersModel,
  spec: InputSpec,
  metrics: ModelCard['metrics'],
  name: string,
  notes?: string,
): ModelCard {
  const s = state.settings;
  const prior = state.prior ?? { history: [], trainSeconds: 0 };
  return {
    name,
    arch: s.arch,
    input: spec,
    labels: [...LABELS],
    trained_on: state.trainedOn,
    params: model.countParams(),
    created: new Date().toISOString(),
    metrics,
    history: [...prior.history, ...state.history.map((e) => ({ ...e, epoch: e.epoch + prior.history.length }))],
    settings: {
      ...s,
      base: shortPath(s.base),
      init: shortPath(s.init),
      ...(s.teacher ? { teacher: { ...s.teacher, model: shortFolderPath(s.teacher.model) } } : {}),
      validation: state.valName,
    },
    ...(state.command ? { command: state.command } : {}),
    train_seconds: Math.round(prior.trainSeconds + state.trainSeconds),
    tta: 'none',
    quantization: s.quantize,
    notes:
      [
        notes,
        state.prior &&
          `Warm start: epochs 1-${prior.history.length} of the history are the earlier run whose weights this one started from (${shortPath(state.prior.from)}, its own settings); the rest are this run's (settings).`,
      ]
        .filter(Boolean)
        .join(' ') || undefined,
  };
}

/** The card's name for the validation split: PublicTest, or `validation` for a held-out part of Training. */
export const metricsKey = (valName: string): 'PublicTest' | 'validation' => (valName === 'PublicTest' ? 'PublicTest' : 'validation');

/** Writes models/<name>/ from the model's current weights, with `r`: their metrics on the validation split. */
export async function exportArtifact(
  dir: string,
  name: string,
  model: tf.LayersModel,
  spec: InputSpec,
  state: RunState,
  r: Omit<EvalReport, 'model' | 'usage'>,
  notes?: string,
): Promise<void> {
  const metrics = { [metricsKey(state.valName)]: splitMetrics(r) };
  const card = cardFor(state, model, spec, metrics, name, notes);
  await saveModelFolder(dir, model, { 'card.json': cardJson(card) }, state.settings.quantize);
}
