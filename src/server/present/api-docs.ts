/**
 * The JSON API's contract as zod schemas (a prediction's own are in
 * prediction.ts, beside the functions that fill them), and the OpenAPI description of each
 * route built from them (hono-openapi). api.ts puts `apiDocs.<route>` in
 * front of its handlers: that documents the route in GET /openapi.json and
 * validates its query and form fields with the same schemas, so the document
 * and the checks cannot drift apart. Response objects are open (extra fields
 * allowed) so that adding a field is not a breaking change.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { describeRoute, resolver, validator } from 'hono-openapi';
import { z } from 'zod';
import { LABELS } from '../../types.js';
import { en } from '../i18n/en.js';
import { HttpError } from '../http/errors.js';
import { uiLocals } from '../http/request-context.js';
import { AllModelsPredictionSchema, PredictionSchema } from './prediction.js';

export const ErrorSchema = z.object({ error: z.string().describe('What went wrong, in a sentence for a person.') }).meta({ id: 'Error' });

export const ModelsSchema = z
  .object({
    default: z.string().nullable().describe('The model used when a request names none.'),
    models: z.array(
      z
        .object({
          id: z.string(),
          card: z
            .object({ name: z.string(), arch: z.string(), labels: z.array(z.string()) })
            .loose()
            .describe('The model card (card.json).'),
        })
        .loose(),
    ),
    skipped: z.array(z.object({ id: z.string(), reason: z.string() })).describe('Model folders that could not be loaded, and why.'),
  })
  .loose()
  .meta({ id: 'Models' });

export const HealthSchema = z
  .object({
    status: z.literal('ok'),
    models: z.number().int().min(0),
    backend: z.string(),
    uptime_s: z.number().min(0),
  })
  .loose()
  .meta({ id: 'Health' });

const modelId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\w.-]+$/, 'a model id has only letters, digits, ".", "_" and "-"')
  .describe(en['apiop.param.model']);

const yesNo = (what: string) =>
  z
    .string()
    .regex(/^(1|0|true|false|on|off|yes|no)?$/i, 'use 1 or 0')
    .describe(what);
/** The analysis choices (analysis-options.ts reads them), as query parameters or form fields. */
const choices = {
  whole: yesNo(en['apiop.param.whole']).optional(),
  explain: yesNo(en['apiop.param.explain']).optional(),
  tta: yesNo(en['apiop.param.tta']).optional(),
  max_faces: z
    .string()
    .regex(/^[1-9]\d*$/, 'a whole number of at least 1')
    .describe(en['apiop.param.max_faces'])
    .optional(),
};

export const PredictQuerySchema = z.object({ model: modelId.optional(), ...choices });
export const PredictFormSchema = z.object({
  image: z.file().describe('The photo: JPEG, PNG, WebP, GIF, AVIF or TIFF.'),
  model: modelId.optional(),
  ...choices,
});

/** Turns a failed schema check into the API's usual `{"error": "..."}` 400, in the user's language. */
function reject(issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }>): never {
  const details = issues
    .map((i) => {
      const where = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
      return where ? `${where}: ${i.message}` : i.message;
    })
    .join('; ');
  throw new HttpError(400, uiLocals().t('limit.badRequest', { details }));
}

const hook = (result: { success: boolean; error?: unknown }, _c: Context): void => {
  if (!result.success) reject(result.error as Array<{ message: string; path?: ReadonlyArray<PropertyKey> }>);
};

/** Checks the text fields of a multipart upload (the file itself is checked by the decoder, with better messages). */
const formFields: MiddlewareHandler = async (c, next) => {
  if (/^multipart\/form-data\b/i.test(c.req.header('content-type') ?? '')) {
    let body: Record<string, string | File | (string | File)[]>;
    try {
      body = await c.req.parseBody({ all: false });
    } catch {
      body = {};
    }
    const fields = PredictFormSchema.partial({ image: true }).safeParse(body);
    if (!fields.success) reject(fields.error.issues);
  }
  await next();
};

const json = (schema: Parameters<typeof resolver>[0], description: string, example?: unknown) => ({
  description,
  content: { 'application/json': { schema: resolver(schema), ...(example === undefined ? {} : { example }) } },
});

/** A typical answer of each operation, shown on /api and in the document (the API tests check them against the schemas). */
export const EXAMPLES = {
  predict: {
    model: 'mobilenetv2',
    image: { width: 640, height: 480 },
    faces: [
      {
        box: { x: 212, y: 96, width: 180, height: 180 },
        label: 'happy',
        scores: { angry: 0.012, disgust: 0.001, fear: 0.018, happy: 0.874, sad: 0.021, surprise: 0.034, neutral: 0.04 },
      },
    ],
    face_source: 'blazeface',
    ms: 84.2,
  },
  listModels: {
    default: 'mobilenetv2',
    models: [
      {
        id: 'mobilenetv2',
        card: {
          name: 'mobilenetv2',
          arch: 'mobilenetv2',
          labels: [...LABELS],
          input: { size: 64, channels: 3, normalisation: 'symmetric' },
        },
      },
      {
        id: 'custom-cnn',
        card: { name: 'custom-cnn', arch: 'cnn', labels: [...LABELS], input: { size: 32, channels: 1, normalisation: 'unit' } },
      },
    ],
    skipped: [],
  },
  health: { status: 'ok', models: 2, backend: 'wasm', uptime_s: 3600 },
} as const;

const errors = {
  400: json(ErrorSchema, en['apiop.response.400']),
  401: json(ErrorSchema, en['apiop.response.401']),
  421: json(ErrorSchema, en['apiop.response.421']),
  429: json(ErrorSchema, en['apiop.response.429']),
};

export const apiDocs = {
  predict: describeRoute({
    operationId: 'predict',
    summary: en['apiop.predict.summary'],
    description: en['apiop.predict.description'],
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
        description: en['apiop.predict.response.200'],
        content: {
          'application/json': { schema: resolver(z.union([PredictionSchema, AllModelsPredictionSchema])), example: EXAMPLES.predict },
        },
      },
      ...errors,
      408: json(ErrorSchema, en['apiop.response.408']),
      413: json(ErrorSchema, en['apiop.response.413']),
      415: json(ErrorSchema, en['apiop.response.415']),
      422: json(ErrorSchema, en['apiop.response.422']),
      503: json(ErrorSchema, en['apiop.response.503']),
    },
  }),
  /** The query (?model=) checked by its schema; also puts the parameter in the document. */
  predictQuery: validator('query', PredictQuerySchema, hook),
  /** The multipart text fields checked by their schema. */
  predictForm: formFields,
  models: describeRoute({
    operationId: 'listModels',
    summary: en['apiop.listModels.summary'],
    tags: ['Models'],
    responses: {
      200: json(ModelsSchema, en['apiop.listModels.response.200'], EXAMPLES.listModels),
      401: errors[401],
      421: errors[421],
      429: errors[429],
    },
  }),
  health: describeRoute({
    operationId: 'health',
    summary: en['apiop.health.summary'],
    tags: ['Server'],
    security: [],
    responses: { 200: json(HealthSchema, en['apiop.health.response.200'], EXAMPLES.health) },
  }),
};
