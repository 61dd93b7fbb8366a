/**
 * Test-time augmentation as part of the recipe: a finished model serves the
 * mean of the face and its mirror only when that adds at least TTA_MIN_GAIN
 * accuracy on the validation split, since it doubles the work per face. The
 * card's metrics then describe the model as served, and `tta_choice` keeps
 * both measurements.
 */
import type { tf } from '../tf/backend.js';
import type { ModelCard } from '../artifacts/card.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';
import { writeCard } from '../artifacts/card.js';
import { TTA_MIN_GAIN } from './config.js';
import type { Split } from './dataset.js';
import { evaluateSplit, splitMetrics } from './evaluate.js';

/** The metrics entry the choice rewrites: the validation split's (PublicTest, or `validation`). */
type SplitName = keyof ModelCard['metrics'];

/** A card whose `tta` has been chosen: it carries the measurements. */
export type ChosenCard = ModelCard & { tta_choice: NonNullable<ModelCard['tta_choice']> };

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** `card` with the TTA choice for `model` on `split` (named `splitName` in its metrics); nothing written. */
export async function chooseTta(model: tf.LayersModel, card: ModelCard, split: Split, splitName: SplitName): Promise<ChosenCard> {
  const none = await evaluateSplit(model, card.input, split);
  const flip = await evaluateSplit(model, card.input, split, { tta: true });
  const tta = flip.accuracy - none.accuracy >= TTA_MIN_GAIN ? 'flip' : 'none';
  return {
    ...card,
    tta,
    metrics: { ...card.metrics, [splitName]: splitMetrics(tta === 'flip' ? flip : none) },
    tta_choice: {
      split: splitName,
      min_gain: TTA_MIN_GAIN,
      none: { accuracy: round(none.accuracy), macro_f1: round(none.macro_f1) },
      flip: { accuracy: round(flip.accuracy), macro_f1: round(flip.macro_f1) },
    },
  };
}

/** Chooses the TTA of the model folder `dir` and rewrites its card.json (atomically); returns the new card. */
export async function chooseTtaForFolder(dir: string, split: Split, splitName: SplitName): Promise<ChosenCard> {
  const { card, model } = await loadTrainedModel(dir);
  try {
    const chosen = await chooseTta(model, card, split, splitName);
    await writeCard(dir, chosen);
    return chosen;
  } finally {
    model.dispose();
  }
}

/** One line for a log: both figures and the choice. */
export function describeTtaChoice(card: ChosenCard): string {
  const c = card.tta_choice;
  const gain = (c.flip.accuracy - c.none.accuracy) * 100;
  return (
    `${card.name}: flip TTA ${c.split} accuracy ${c.none.accuracy.toFixed(4)} -> ${c.flip.accuracy.toFixed(4)} ` +
    `(${gain >= 0 ? '+' : ''}${gain.toFixed(2)} points; bar ${(c.min_gain * 100).toFixed(1)}): ` +
    (card.tta === 'flip' ? 'served with the mirror' : 'served without it')
  );
}
