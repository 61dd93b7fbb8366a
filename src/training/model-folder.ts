/** Reading a trained model folder (model.json + weights + card.json) for evaluation and serving. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../tf/backend.js';
import { loadModelFolder } from '../tf/model-io.js';
import { LABELS, type ModelCard } from '../types.js';

const cardSchema = z.object({
  name: z.string(),
  arch: z.enum(['cnn', 'mobilenetv2']),
  input: z.object({ size: z.number().int().positive(), channels: z.union([z.literal(1), z.literal(3)]), normalisation: z.enum(['unit', 'symmetric']) }),
  labels: z.array(z.string()).refine((l) => l.join() === LABELS.join(), `labels must be ${LABELS.join(', ')} in this order`),
}).passthrough();

export interface LoadedModel { dir: string; card: ModelCard; model: tf.LayersModel }

/** Parses and checks a card.json; throws a message naming the file. */
export async function readCard(dir: string): Promise<ModelCard> {
  const file = path.join(dir, 'card.json');
  let raw: unknown;
  try { raw = JSON.parse(await fs.readFile(file, 'utf8')); } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  const parsed = cardSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.join('.') || 'card'}: ${issue.message}`);
  }
  return parsed.data as unknown as ModelCard;
}

export async function loadTrainedModel(dir: string): Promise<LoadedModel> {
  const card = await readCard(dir);
  const model = await loadModelFolder(dir);
  const out = model.outputs[0].shape;
  if (out[out.length - 1] !== LABELS.length) throw new Error(`${dir}: model outputs ${out[out.length - 1]} classes, expected ${LABELS.length}`);
  return { dir, card, model };
}
