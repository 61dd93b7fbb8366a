/**
 * Test-time augmentation as part of the recipe: a finished model's TTA
 * (inference/tta.ts) is chosen by measuring the face alone, flip (2 views) and
 * shift (10 views) on the validation split. The choice climbs one step at a
 * time, none -> flip -> shift, and takes a step only when it adds at least
 * TTA_MIN_GAIN accuracy over the current choice, since each step multiplies
 * the work per face. The card's metrics then describe the model as served, and
 * `tta_choice` keeps all three measurements.
 */
import type { tf } from '../tf/backend.js';
import type { ModelCard } from '../artifacts/card.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';
import { writeCard } from '../artifacts/card.js';
import { servedWith, type TtaKind } from '../inference/tta.js';
import { TTA_MIN_GAIN } from './config.js';
import type { Split } from './dataset.js';
import { evaluateSplit, splitMetrics, type SplitEvaluation } from './evaluate.js';

/** The metrics entry the choice rewrites: the validation split's (PublicTest, or `validation`). */
type SplitName = keyof ModelCard['metrics'];

type TtaChoice = NonNullable<ModelCard['tta_choice']>;

/** A card whose `tta` has been chosen: it carries the measurements. */
export type ChosenCard = ModelCard & { tta: TtaKind; tta_choice: TtaChoice };

const round = (v: number) => Math.round(v * 1e4) / 1e4;
const figures = (r: SplitEvaluation) => ({ accuracy: round(r.accuracy), macro_f1: round(r.macro_f1) });

/** The steps in the order the choice climbs them. */
const STEPS = ['flip', 'shift'] as const;

interface Climb {
  kind: TtaKind;
  /** Each step measured, with its accuracy gain over the choice it was weighed against. */
  steps: Array<{ step: (typeof STEPS)[number]; over: TtaKind; gain: number }>;
}

/**
 * Where the climb ends, from the figures the card keeps (so a reader of the card can check it); a gain
 * of exactly `min_gain` counts, whatever the floating-point subtraction makes of it.
 */
function climb(choice: TtaChoice): Climb {
  const result: Climb = { kind: 'none', steps: [] };
  for (const step of STEPS) {
    const next = choice[step];
    if (!next) continue;
    const gain = next.accuracy - choice[result.kind]!.accuracy;
    result.steps.push({ step, over: result.kind, gain });
    if (gain >= choice.min_gain - 1e-9) result.kind = step;
  }
  return result;
}

/** `card` with the TTA choice for `model` on `split` (named `splitName` in its metrics); nothing written. */
export async function chooseTta(model: tf.LayersModel, card: ModelCard, split: Split, splitName: SplitName): Promise<ChosenCard> {
  const measured: Record<TtaKind, SplitEvaluation> = {
    none: await evaluateSplit(model, card.input, split, { tta: 'none' }),
    flip: await evaluateSplit(model, card.input, split, { tta: 'flip' }),
    shift: await evaluateSplit(model, card.input, split, { tta: 'shift' }),
  };
  const tta_choice: TtaChoice = {
    split: splitName,
    min_gain: TTA_MIN_GAIN,
    none: figures(measured.none),
    flip: figures(measured.flip),
    shift: figures(measured.shift),
  };
  const tta = climb(tta_choice).kind;
  return { ...card, tta, metrics: { ...card.metrics, [splitName]: splitMetrics(measured[tta]) }, tta_choice };
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

/** One line for a log: the three figures, each step's gain over the choice it was weighed against, and the choice. */
export function describeTtaChoice(card: ChosenCard): string {
  const c = card.tta_choice;
  const parts = [`none ${c.none.accuracy.toFixed(4)}`];
  for (const { step, over, gain } of climb(c).steps) {
    parts.push(`${step} ${c[step]!.accuracy.toFixed(4)} (${gain >= 0 ? '+' : ''}${(gain * 100).toFixed(2)} over ${over})`);
  }
  return (
    `${card.name}: TTA on ${c.split}, accuracy ${parts.join(', ')}; bar ${(c.min_gain * 100).toFixed(1)} points: ` +
    `served ${servedWith(card.tta)}`
  );
}
