/** The TTA choice's rule (training/choose-tta.ts), written out for tests to check a card's `tta` against its `tta_choice`. */
import { TTA_MIN_GAIN } from '../../src/training/config.js';
import type { ModelCard } from '../../src/artifacts/card.js';

/** none -> flip -> shift, each step taken only when it adds at least TTA_MIN_GAIN over the choice so far. */
export function expectedTta(choice: NonNullable<ModelCard['tta_choice']>): 'none' | 'flip' | 'shift' {
  const steps = (a: number, b: number) => a - b >= TTA_MIN_GAIN - 1e-9;
  let kind: 'none' | 'flip' | 'shift' = 'none';
  let accuracy = choice.none.accuracy;
  if (steps(choice.flip.accuracy, accuracy)) [kind, accuracy] = ['flip', choice.flip.accuracy];
  if (choice.shift && steps(choice.shift.accuracy, accuracy)) kind = 'shift';
  return kind;
}
