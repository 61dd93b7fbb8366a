/** The JSON API (DESIGN.md): POST /api/predict, GET /api/models, GET /healthz. */
import { Hono } from 'hono';
import { analyseImage } from '../../inference/pipeline.js';
import { tf } from '../../tf/backend.js';
import type { AppDeps } from '../deps.js';
import { pickModel } from '../pick-model.js';
import { noFileError, readUpload } from '../upload.js';

export function apiRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { registry } = deps;
  const started = Date.now();

  app.post('/api/predict', async (c) => {
    const { bytes, fields } = await readUpload(c, true);
    const entry = pickModel(registry, c.req.query('model') ?? fields.model);
    if (!bytes) throw noFileError(true);
    const a = await analyseImage(bytes, entry, deps.decode);
    return c.json({
      model: a.model,
      image: { width: a.image.width, height: a.image.height },
      faces: a.faces.map((f) => ({ box: f.box, label: f.label, scores: f.scores })),
      ms: a.ms,
    });
  });

  app.get('/api/models', (c) => c.json({
    default: registry.defaultId,
    models: registry.models.map((m) => ({ id: m.id, card: m.card })),
    skipped: registry.skipped,
  }));

  app.get('/healthz', (c) => c.json({
    status: 'ok',
    models: registry.models.length,
    backend: tf.getBackend(),
    uptime_s: Math.round((Date.now() - started) / 1000),
  }));

  return app;
}
