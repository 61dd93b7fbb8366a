/**
 * GET /video: the video timeline page. Everything happens in the browser
 * (static/video/, with private mode's runtime): the server only sends the
 * page, and says there that the timeline cannot run when it offers no
 * private mode, since no video or frame is ever uploaded instead.
 */
import { Hono } from 'hono';
import type { AppDeps } from '../../deps.js';
import { modelOptions } from '../../present/view-models.js';

export function videoRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/video', (c) => {
    const { registry } = deps;
    return c.html(
      deps.views.video({
        models: modelOptions(registry),
        privateMode: deps.privateMode && registry.models.length > 0,
        noModels: registry.models.length === 0,
      }),
    );
  });
  return app;
}
