/**
 * card.json, the description every model folder carries: one zod schema, and
 * the TypeScript types derived from it, so the reader's checks and the
 * writers' types cannot drift apart. Unknown fields pass through (`loose`).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LABELS, USAGES } from '../types.js';
import { writeFileAtomically } from './atomic.js';

/** The card `arch` of a folder that averages other model folders' answers (inference/ensemble.ts). */
export const ENSEMBLE_ARCH = 'ensemble';

/** How a 48x48 grey face becomes a model input. */
export const inputSpecSchema = z.object({
  /** Side of the square model input in pixels. */
  size: z.number().int().positive(),
  /** 1 for grey, 3 when the grey channel is replicated (ImageNet bases). */
  channels: z.union([z.literal(1), z.literal(3)]),
  /** 'unit': x/255 in [0,1]; 'symmetric': x/127.5-1 in [-1,1]. */
  normalisation: z.enum(['unit', 'symmetric']),
  /**
   * Gaussian blur (sigma, in pixels of the 48x48 face) that every face is brought to before the model: the
   * sharpness of the model's training faces. 0 or absent: faces are used as they are (training/sharpness.ts).
   */
  blur: z.number().min(0).max(10).optional(),
});
export type InputSpec = z.infer<typeof inputSpecSchema>;
export type Normalisation = InputSpec['normalisation'];

export const classMetricsSchema = z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() });
export type ClassMetrics = z.infer<typeof classMetricsSchema>;

/** A model's figures on one split of the data (the card keeps one per split). */
export const splitMetricsSchema = z.object({
  n: z.number(),
  accuracy: z.number(),
  macro_f1: z.number(),
  per_class: z.record(z.enum(LABELS), classMetricsSchema),
  /** 7x7, rows = true class, columns = predicted class. */
  confusion: z.array(z.array(z.number())),
});
export type SplitMetrics = z.infer<typeof splitMetricsSchema>;

/** The evaluation result; `npm run evaluate -- --json` prints exactly this (DESIGN.md). */
export type EvalReport = { model: string; usage: string } & SplitMetrics;

export const historyEntrySchema = z.object({
  epoch: z.number(),
  loss: z.number(),
  acc: z.number(),
  val_loss: z.number(),
  val_acc: z.number(),
  lr: z.number(),
  /** Seconds this epoch took (for the wall-time figures). */
  seconds: z.number().optional(),
  /** Training phase for two-phase runs (MobileNetV2): 'head' or 'finetune'. */
  phase: z.string().optional(),
  /** With a weight average (--ema): validation accuracy of the live weights, beside val_acc of the average. */
  val_acc_live: z.number().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** What `npm run calibrate` writes (inference/calibration.ts applies it). */
export const calibrationSchema = z
  .object({
    /** Divides the log-probabilities before the softmax; 1 = unchanged. */
    temperature: z.number().positive().max(100),
    /** Expected calibration error (15 equal-width bins of the top score) before and after, on `fitted_on`. */
    ece_before: z.number(),
    ece_after: z.number(),
    /** Mean negative log-likelihood before and after (what the fit minimises). */
    nll_before: z.number().optional(),
    nll_after: z.number().optional(),
    /** The rows it was fitted on, e.g. "fer2013.csv.gz PublicTest (3589 faces)". */
    fitted_on: z.string(),
    created: z.string().optional(),
  })
  .loose();
export type CalibrationCard = z.infer<typeof calibrationSchema>;

/** A TTA kind's figures in `tta_choice`. */
const ttaFiguresSchema = z.object({ accuracy: z.number(), macro_f1: z.number() });

/**
 * models/<name>/card.json. The fields consumers rely on come first, so a broken card is reported by the
 * first of them that is wrong.
 */
export const modelCardSchema = z
  .object({
    name: z.string().min(1),
    /** The architecture it was trained as (training/architectures), or ENSEMBLE_ARCH. */
    arch: z.string(),
    input: inputSpecSchema,
    /** Always FER2013's order (checked by readCard). */
    labels: z.array(z.string()).length(LABELS.length),
    /**
     * Ensembles only: the sibling model folders whose probabilities (each as served: its own
     * TTA and temperature) are averaged. Such a folder holds card.json alone.
     */
    members: z
      .array(z.string().regex(/^[\w.-]+$/, 'a model folder name'))
      .min(2)
      .optional(),
    /** Test-time augmentation the demo should use (inference/tta.ts: the face alone, with its mirror, or ten views). */
    tta: z.enum(['none', 'flip', 'shift']).optional(),
    /**
     * How `tta` was chosen (training/choose-tta.ts): accuracy and macro-F1 of each kind measured. `shift` is
     * absent on cards chosen before that kind existed.
     */
    tta_choice: z
      .object({
        split: z.string(),
        /** The least accuracy gain that earns each step (none -> flip -> shift) its extra views. */
        min_gain: z.number(),
        none: ttaFiguresSchema,
        flip: ttaFiguresSchema,
        shift: ttaFiguresSchema.optional(),
      })
      .optional(),
    /** Temperature scaling fitted by `npm run calibrate`. */
    calibration: calibrationSchema.optional(),
    trained_on: z.string(),
    params: z.number(),
    created: z.string(),
    /** Figures per split: PublicTest, or `validation` for a held-out part of Training. */
    metrics: z.partialRecord(z.enum([...USAGES, 'validation']), splitMetricsSchema),
    history: z.array(historyEntrySchema),
    /** The run's settings (optimizer, lr, augmentation, seed, ...) as training saved them. */
    settings: z.record(z.string(), z.unknown()).optional(),
    /** The command that trained the model (paths shortened to file names). */
    command: z.string().optional(),
    /** Wall time of the whole training in seconds. */
    train_seconds: z.number().optional(),
    /** Weight quantisation applied when saving, if any. */
    quantization: z.enum(['float16', 'uint8']).nullable().optional(),
    notes: z.string().optional(),
  })
  .loose();
export type ModelCard = z.infer<typeof modelCardSchema>;

/** Checks a parsed card.json; throws with the first problem in words a person can act on. */
export function parseCard(raw: unknown): ModelCard {
  const parsed = modelCardSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`card.json is invalid at "${first.path.join('.')}": ${first.message}`);
  }
  const card = parsed.data;
  if ((card.arch === ENSEMBLE_ARCH) !== (card.members !== undefined)) {
    throw new Error(`card.json: an "${ENSEMBLE_ARCH}" card lists its "members" (two or more model folders), and only such a card does`);
  }
  if (card.labels.some((l, i) => l !== LABELS[i])) {
    throw new Error(`card.json labels ${JSON.stringify(card.labels)} are not in FER2013 order (${LABELS.join(', ')})`);
  }
  return card;
}

/** Reads and checks `dir`/card.json. */
export async function readCard(dir: string): Promise<ModelCard> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, 'card.json'), 'utf8'));
  } catch (e) {
    throw new Error(`card.json is missing or not JSON (${(e as Error).message})`, { cause: e });
  }
  return parseCard(raw);
}

/** The text of card.json as every writer formats it. */
export const cardJson = (card: ModelCard): string => JSON.stringify(card, null, 1);

/** Replaces `dir`/card.json alone: a reader sees the old card or the new one. */
export async function writeCard(dir: string, card: ModelCard): Promise<void> {
  await writeFileAtomically(path.join(dir, 'card.json'), cardJson(card));
}

/** A card names files, not where they were on the training machine (URLs stay whole). */
export function shortPath<T extends string | null | undefined>(p: T): T {
  return (p && !/^https?:/.test(p) ? path.basename(p) : p) as T;
}

/**
 * A model folder as a card names it: inside the working folder (the project, where `npm run` starts) its path
 * from there (`models/ensemble` names the same folder in any copy), elsewhere its name alone.
 */
export function shortFolderPath(p: string): string {
  const inside = path.relative(process.cwd(), path.resolve(p));
  return inside === '' || inside.startsWith('..') || path.isAbsolute(inside) ? shortPath(p) : inside;
}
