/**
 * Reading a trained model folder (model.json + weights + card.json): the one
 * loader used by evaluation, comparison and serving. Every check says what is
 * wrong in words a person can act on.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../tf/backend.js';
import { loadModelFolder } from '../tf/model-io.js';
import { ENSEMBLE_ARCH, LABELS, NUM_CLASSES, type ModelCard } from '../types.js';

/** What consumers rely on is checked; the rest of the card passes through. */
const cardSchema = z.object({
  name: z.string().min(1),
  arch: z.string(),
  input: z.object({
    size: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    normalisation: z.enum(['unit', 'symmetric']),
    blur: z.number().min(0).max(10).optional(),
  }),
  labels: z.array(z.string()).length(NUM_CLASSES),
  members: z.array(z.string().regex(/^[\w.-]+$/, 'a model folder name')).min(2).optional(),
  tta: z.enum(['none', 'flip']).optional(),
  calibration: z.object({
    temperature: z.number().positive().max(100),
    ece_before: z.number(),
    ece_after: z.number(),
    fitted_on: z.string(),
  }).loose().optional(),
}).loose();

export interface LoadedModelFolder { dir: string; card: ModelCard; model: tf.LayersModel }

/** Parses and checks a folder's card.json. */
export async function readCard(dir: string): Promise<ModelCard> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, 'card.json'), 'utf8'));
  } catch (e) {
    throw new Error(`card.json is missing or not JSON (${(e as Error).message})`);
  }
  const parsed = cardSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`card.json is invalid at "${first.path.join('.')}": ${first.message}`);
  }
  const card = parsed.data as unknown as ModelCard;
  if ((card.arch === ENSEMBLE_ARCH) !== (card.members !== undefined)) {
    throw new Error(`card.json: an "${ENSEMBLE_ARCH}" card lists its "members" (two or more model folders), and only such a card does`);
  }
  if (card.labels.some((l, i) => l !== LABELS[i])) {
    throw new Error(`card.json labels ${JSON.stringify(card.labels)} are not in FER2013 order (${LABELS.join(', ')})`);
  }
  return card;
}

/** Loads the card and the model, and checks that they agree. */
export async function loadTrainedModel(dir: string): Promise<LoadedModelFolder> {
  const card = await readCard(dir);
  if (card.members) throw new Error(`${dir} is an ensemble of ${card.members.join(', ')}, not one network`);
  const model = await loadModelFolder(dir);
  const [, h, w, c] = model.inputs[0].shape;
  const outShape = model.outputs[0].shape;
  let problem: string | null = null;
  if (h !== card.input.size || w !== card.input.size || c !== card.input.channels) {
    problem = `model input ${JSON.stringify(model.inputs[0].shape)} does not match card input ${card.input.size}x${card.input.size}x${card.input.channels}`;
  } else if (outShape[outShape.length - 1] !== NUM_CLASSES) {
    problem = `model output ${JSON.stringify(outShape)} does not have ${NUM_CLASSES} classes`;
  }
  if (problem) {
    model.dispose();
    throw new Error(problem);
  }
  return { dir, card, model };
}
