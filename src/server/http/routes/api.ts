/** The JSON API (DESIGN.md): POST /api/predict, GET /api/models, GET /healthz. */
import { Hono } from 'hono';
import { analyseImage } from '../../../inference/pipeline.js';
import { ALL_MODELS, analyseWithEveryModel } from '../../../inference/side-by-side.js';
import { tf } from '../../../tf/backend.js';
import { apiDocs } from '../../present/api-docs.js';
import type { AppDeps } from '../../deps.js';
import { requestChoices } from '../analysis-options.js';
import { pickModel } from '../pick-model.js';
import { predictionJson, sideBySideJson } from '../../present/prediction.js';
import { redactDeep } from '../../present/redact.js';
import { noFileError, readUpload } from '../upload.js';

export function apiRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { registry } = deps;
  const started = Date.now();

  // apiDocs.*: the OpenAPI description of each route and the schema checks of its input.
  app.post('/api/predict', apiDocs.predict, apiDocs.predictQuery, apiDocs.predictForm, async (c) => {
    const { bytes, fields } = await readUpload(c, true);
    const wanted = c.req.query('model') ?? fields.model;
    // ?model=all: every loaded model on the same faces (side-by-side mode).
    const entry = pickModel(registry, wanted === ALL_MODELS ? null : wanted);
    if (!bytes) throw noFileError(true);
    // ?whole=1, ?explain=1, ?tta=1, ?max_faces=N (or the same form fields).
    const options = { ...deps.decode, ...requestChoices(c, fields, deps.decode) };
    if (wanted === ALL_MODELS) return c.json(sideBySideJson(await analyseWithEveryModel(bytes, registry.models, options)));
    return c.json(await predictionJson(await analyseImage(bytes, entry, options)));
  });

  // Cards as served: no paths of the machine that trained the model (redact.ts).
  app.get('/api/models', apiDocs.models, (c) =>
    c.json({
      default: registry.defaultId,
      models: registry.models.map((m) => ({ id: m.id, card: redactDeep(m.card) })),
      skipped: redactDeep(registry.skipped),
    }),
  );

  app.get('/healthz', apiDocs.health, (c) =>
    c.json({
      status: 'ok',
      models: registry.models.length,
      backend: tf.getBackend(),
      uptime_s: Math.round((Date.now() - started) / 1000),
    }),
  );

  return app;
}
