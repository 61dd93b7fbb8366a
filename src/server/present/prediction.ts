/**
 * A prediction on its way out, in one place for every place it is shown:
 * - the JSON API's answer (POST /api/predict, DESIGN.md): its zod schemas and
 *   the functions that fill them, for one model and for ?model=all. The
 *   OpenAPI document (api-docs.ts) is built from these schemas, and the
 *   camera's live bars (static/camera.js) draw the `label` and `scores` of
 *   each face of this answer. A new field goes into a schema and its
 *   function here; the answer's type comes from the schema, so the two
 *   cannot disagree on a required field.
 * - one face's verdict for the pages (one model's result and side-by-side):
 *   label, emoji, percent, the seven bars and whether the model is sure.
 */
import { z } from 'zod';
import type { Analysis } from '../../inference/pipeline.js';
import type { Scores } from '../../inference/predict.js';
import { ALL_MODELS, type SideBySide } from '../../inference/side-by-side.js';
import { LABELS, type Label } from '../../types.js';
import { heatmapDataUrl } from './heatmap-png.js';

// ------------------------------------------------------------ the API's answer
const probability = z.number().min(0).max(1);
export const ScoresSchema = z
  .object(Object.fromEntries(LABELS.map((l) => [l, probability])) as Record<(typeof LABELS)[number], typeof probability>)
  .describe('Probability of each of the seven FER2013 expressions (they sum to 1).');
export const BoxSchema = z
  .object({
    x: z.number(),
    y: z.number(),
    width: z.number(),
    height: z.number(),
  })
  .loose()
  .describe('Where the face is, in pixels of the upright photo.');
export const LabelSchema = z.enum(LABELS).describe('The most probable expression.');

export const FaceSchema = z
  .object({
    box: BoxSchema,
    label: LabelSchema,
    scores: ScoresSchema,
    heatmap: z
      .string()
      .optional()
      .describe(
        "Only with ?explain=1 (not with ?model=all): a data:image/png;base64 URL, a 48x48 transparent PNG of the Grad-CAM heatmap for this face's `label`, to lay over the 48x48 grey face the model saw.",
      ),
  })
  .loose();
export const ImageSizeSchema = z.object({ width: z.number().int(), height: z.number().int() }).loose();

export const PredictionSchema = z
  .object({
    model: z.string().describe('Id of the model that answered.'),
    image: ImageSizeSchema,
    faces: z
      .array(FaceSchema)
      .describe(
        'One entry per face found, numbered left to right across the photo (top to bottom when level): faces[0] is face 1 on the page. `[]` when no face was found (still status 200, with `message`).',
      ),
    face_source: z
      .string()
      .describe(
        'How the faces were found: the face detector\'s name ("blazeface" or "ssd", as the server is set up), or "whole-image" with ?whole=1.',
      ),
    message: z
      .string()
      .optional()
      .describe(
        'Only when the detector found no face (`faces` is `[]`, status 200): a sentence saying to send the image again with ?whole=1 to classify it as one face.',
      ),
    ms: z.number().describe('Time the analysis took, in milliseconds.'),
  })
  .loose()
  .meta({ id: 'Prediction' });

export const AllModelsPredictionSchema = z
  .object({
    model: z.literal('all'),
    models: z.array(z.string()),
    image: ImageSizeSchema,
    faces: z.array(
      z
        .object({
          box: BoxSchema,
          by_model: z.record(z.string(), z.object({ label: LabelSchema, scores: ScoresSchema }).loose()),
        })
        .loose(),
    ),
    ms: z.number(),
  })
  .loose()
  .meta({ id: 'AllModelsPrediction' });

export type PredictionJson = z.infer<typeof PredictionSchema>;
export type AllModelsPredictionJson = z.infer<typeof AllModelsPredictionSchema>;

export const NO_FACE_API_MESSAGE =
  'No face was found in this image. To classify the whole image as one face (right for an already cropped face), send it again with ?whole=1.';

/**
 * One model's answer: one entry per face with its box, label and scores.
 * Additions to DESIGN.md's answer: the upright image size, `face_source`
 * (the detector, or "whole-image"), a Grad-CAM `heatmap` per face with
 * `?explain=1`, and a `message` when no face was found.
 */
export async function predictionJson(a: Analysis): Promise<PredictionJson> {
  const faces = await Promise.all(
    a.faces.map(async (f) => ({
      box: { ...f.box }, // a copy: the schema's type is an open object, which an interface is not
      label: f.label,
      scores: f.scores,
      ...(f.heatmap ? { heatmap: await heatmapDataUrl(f.heatmap) } : {}),
    })),
  );
  return {
    model: a.model,
    image: { width: a.image.width, height: a.image.height },
    faces,
    face_source: a.faceSource,
    ...(a.noFace ? { message: NO_FACE_API_MESSAGE } : {}),
    ms: a.ms,
  };
}

/** The answer for `?model=all`: per face, every model's label and scores. */
export function sideBySideJson(a: SideBySide): AllModelsPredictionJson {
  return {
    model: ALL_MODELS,
    models: a.models,
    image: { width: a.image.width, height: a.image.height },
    faces: a.faces.map((f) => ({
      box: { ...f.box }, // a copy: the schema's type is an open object, which an interface is not
      by_model: Object.fromEntries(f.byModel.map((v) => [v.model, { label: v.label, scores: v.scores }])),
    })),
    ms: a.ms,
  };
}

// ------------------------------------------------------------ one face on a page
/** Below this top score the model is not sure. */
export const UNSURE_TOP = 0.4;
/** Closer than this between the two best scores, the model cannot tell them apart. */
export const UNSURE_GAP = 0.1;

export interface Certainty {
  unsure: boolean;
  best: Label;
  runnerUp: Label;
}

export function certainty(scores: Scores): Certainty {
  const [best, runnerUp] = [...LABELS].sort((a, b) => scores[b] - scores[a]);
  const unsure = scores[best] < UNSURE_TOP || scores[best] - scores[runnerUp] < UNSURE_GAP;
  return { unsure, best, runnerUp };
}

export const EMOJI: Record<Label, string> = {
  angry: '😠',
  disgust: '🤢',
  fear: '😨',
  happy: '😄',
  sad: '😢',
  surprise: '😮',
  neutral: '😐',
};

export interface BarView {
  label: Label;
  id: string;
  value: string;
  percent: string;
  top: boolean;
}

export function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

/** One model's verdict on one face, as the result templates print it. */
export interface Verdict {
  label: Label;
  emoji: string;
  percent: string;
  bars: BarView[];
  /** The model is not sure (see certainty): the page names the two best guesses instead of a verdict. */
  unsure: boolean;
  runnerUp: Label;
}

/** One face's verdict with its seven bars, highest first (every view sorts alike); `idPrefix` makes the bars' element ids. */
export function verdict(label: Label, scores: Scores, idPrefix: string): Verdict {
  const labels = [...LABELS].sort((a, b) => scores[b] - scores[a]);
  const sure = certainty(scores);
  return {
    label,
    emoji: EMOJI[label],
    percent: percent(scores[label]),
    bars: labels.map((l) => ({
      label: l,
      id: `${idPrefix}-${l}`,
      value: scores[l].toFixed(4),
      percent: percent(scores[l]),
      top: l === label,
    })),
    unsure: sure.unsure,
    runnerUp: sure.runnerUp,
  };
}
