/**
 * The JSON API's contract as zod schemas, and the OpenAPI description of each
 * route built from them (hono-openapi). api.ts puts `apiDocs.<route>` in
 * front of its handlers: that documents the route in GET /openapi.json and
 * validates its query and form fields with the same schemas, so the document
 * and the checks cannot drift apart. Response objects are open (extra fields
 * allowed) so that adding a field is not a breaking change.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { describeRoute, resolver, validator } from 'hono-openapi';
import { z } from 'zod';
import { LABELS } from '../types.js';
import { HttpError } from './errors.js';
import { uiLocals } from './request-context.js';

const probability = z.number().min(0).max(1);
export const ScoresSchema = z.object(Object.fromEntries(LABELS.map((l) => [l, probability])) as Record<(typeof LABELS)[number], typeof probability>)
  .describe('Probability of each of the seven FER2013 expressions (they sum to 1).');
export const BoxSchema = z.object({
  x: z.number(), y: z.number(), width: z.number(), height: z.number(),
}).loose().describe('Where the face is, in pixels of the upright photo.');
export const LabelSchema = z.enum(LABELS).describe('The most probable expression.');

const FaceSchema = z.object({
  box: BoxSchema, label: LabelSchema, scores: ScoresSchema,
  heatmap: z.string().optional().describe('Only with ?explain=1 (not with ?model=all): a data:image/png;base64 URL, a 48x48 transparent PNG of the Grad-CAM heatmap for this face\'s `label`, to lay over the 48x48 grey face the model saw.'),
}).loose();
const ImageSizeSchema = z.object({ width: z.number().int(), height: z.number().int() }).loose();

export const PredictionSchema = z.object({
  model: z.string().describe('Id of the model that answered.'),
  image: ImageSizeSchema,
  faces: z.array(FaceSchema).describe('One entry per face found, numbered left to right across the photo (top to bottom when level): faces[0] is face 1 on the page. `[]` when no face was found (still status 200, with `message`).'),
  face_source: z.string().describe('How the faces were found: the face detector\'s name ("blazeface" or "ssd", as the server is set up), or "whole-image" with ?whole=1.'),
  message: z.string().optional().describe('Only when the detector found no face (`faces` is `[]`, status 200): a sentence saying to send the image again with ?whole=1 to classify it as one face.'),
  ms: z.number().describe('Time the analysis took, in milliseconds.'),
}).loose().meta({ id: 'Prediction' });

export const AllModelsPredictionSchema = z.object({
  model: z.literal('all'),
  models: z.array(z.string()),
  image: ImageSizeSchema,
  faces: z.array(z.object({
    box: BoxSchema,
    by_model: z.record(z.string(), z.object({ label: LabelSchema, scores: ScoresSchema }).loose()),
  }).loose()),
  ms: z.number(),
}).loose().meta({ id: 'AllModelsPrediction' });

export const ErrorSchema = z.object({ error: z.string().describe('What went wrong, in a sentence for a person.') }).meta({ id: 'Error' });

export const ModelsSchema = z.object({
  default: z.string().nullable().describe('The model used when a request names none.'),
  models: z.array(z.object({
    id: z.string(),
    card: z.object({ name: z.string(), arch: z.string(), labels: z.array(z.string()) }).loose().describe('The model card (card.json).'),
  }).loose()),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })).describe('Model folders that could not be loaded, and why.'),
}).loose().meta({ id: 'Models' });

export const HealthSchema = z.object({
  status: z.literal('ok'),
  models: z.number().int().min(0),
  backend: z.string(),
  uptime_s: z.number().min(0),
}).loose().meta({ id: 'Health' });

const modelId = z.string().min(1).max(100).regex(/^[\w.-]+$/, 'a model id has only letters, digits, ".", "_" and "-"')
  .describe('Model id from GET /api/models, or "all" for every model side by side. Default: the most accurate model.');

const yesNo = (what: string) => z.string().regex(/^(1|0|true|false|on|off|yes|no)?$/i, 'use 1 or 0').describe(what);
/** The analysis choices (analysis-options.ts reads them), as query parameters or form fields. */
const choices = {
  whole: yesNo('1: the photo is one face (skip face detection).').optional(),
  explain: yesNo('1: add a Grad-CAM heatmap per face (slower).').optional(),
  tta: yesNo('1: average each face with its mirror image; 0: never.').optional(),
  max_faces: z.string().regex(/^[1-9]\d*$/, 'a whole number of at least 1').describe('At most this many faces, the ones the detector is most sure of (default: the server\'s --max-faces, 20); they are still numbered left to right.').optional(),
};

export const PredictQuerySchema = z.object({ model: modelId.optional(), ...choices });
export const PredictFormSchema = z.object({
  image: z.file().describe('The photo: JPEG, PNG, WebP, GIF, AVIF or TIFF.'),
  model: modelId.optional(),
  ...choices,
});

/** Turns a failed schema check into the API's usual `{"error": "..."}` 400, in the user's language. */
function reject(issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }>): never {
  const details = issues.map((i) => {
    const where = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
    return where ? `${where}: ${i.message}` : i.message;
  }).join('; ');
  throw new HttpError(400, uiLocals().t('limit.badRequest', { details }));
}

const hook = (result: { success: boolean; error?: unknown }, _c: Context): void => {
  if (!result.success) reject(result.error as Array<{ message: string; path?: ReadonlyArray<PropertyKey> }>);
};

/** Checks the text fields of a multipart upload (the file itself is checked by the decoder, with better messages). */
const formFields: MiddlewareHandler = async (c, next) => {
  if (/^multipart\/form-data\b/i.test(c.req.header('content-type') ?? '')) {
    let body: Record<string, string | File | (string | File)[]>;
    try { body = await c.req.parseBody({ all: false }); } catch { body = {}; }
    const fields = PredictFormSchema.partial({ image: true }).safeParse(body);
    if (!fields.success) reject(fields.error.issues);
  }
  await next();
};

const json = (schema: Parameters<typeof resolver>[0], description: string) => ({
  description,
  content: { 'application/json': { schema: resolver(schema) } },
});

const errors = {
  400: json(ErrorSchema, 'The request is wrong: no image, an unknown model, invalid fields.'),
  401: json(ErrorSchema, 'The server asks for a user name and password (HTTP basic auth) and none or wrong ones were sent.'),
  421: json(ErrorSchema, 'The request named a host this server does not answer to (see --allow-host).'),
  429: json(ErrorSchema, 'Too many requests (or wrong passwords) from this client; wait the seconds in Retry-After.'),
};

export const apiDocs = {
  predict: describeRoute({
    operationId: 'predict',
    summary: 'Recognise the expression of every face in a photo',
    description: 'Send the photo as the multipart field `image`, or as the raw request body. Each face found gets a box, the most probable of the seven expressions and all seven probabilities; faces are numbered left to right, and ?explain=1 adds a Grad-CAM `heatmap` to each. A photo without a face is not an error: the answer is 200 with `faces: []` and a `message`.',
    tags: ['Prediction'],
    requestBody: {
      required: true,
      content: {
        'multipart/form-data': { schema: resolver(PredictFormSchema) },
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
        'image/*': { schema: { type: 'string', format: 'binary' } },
      },
    },
    responses: {
      200: {
        description: 'The faces and their expressions, left to right; `faces` is empty (with a `message`) when no face was found. With ?model=all, every model\'s answer per face (no `face_source`, `message` or `heatmap`).',
        content: { 'application/json': { schema: resolver(z.union([PredictionSchema, AllModelsPredictionSchema])) } },
      },
      ...errors,
      408: json(ErrorSchema, 'The upload stopped arriving (nothing for 12 s) and was cut off.'),
      413: json(ErrorSchema, 'The upload is larger than the server accepts.'),
      415: json(ErrorSchema, 'Not an image, or an image format that is not supported.'),
      422: json(ErrorSchema, 'The image is damaged or has too many pixels.'),
      503: json(ErrorSchema, 'The server is busy (queue full) or has no model loaded; for a full queue, retry after the seconds in Retry-After.'),
    },
  }),
  /** The query (?model=) checked by its schema; also puts the parameter in the document. */
  predictQuery: validator('query', PredictQuerySchema, hook),
  /** The multipart text fields checked by their schema. */
  predictForm: formFields,
  models: describeRoute({
    operationId: 'listModels',
    summary: 'The loaded models and their cards',
    tags: ['Models'],
    responses: { 200: json(ModelsSchema, 'The models, the default one, and folders that were skipped.'), 401: errors[401], 421: errors[421], 429: errors[429] },
  }),
  health: describeRoute({
    operationId: 'health',
    summary: 'Health check (never needs a password)',
    tags: ['Server'],
    security: [],
    responses: { 200: json(HealthSchema, 'The server is up.') },
  }),
};
