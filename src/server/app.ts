/**
 * createApp(options) -> the Hono app. No listening here: the CLI and the
 * tests start it on whatever host and port they like (see listen.ts).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { DEFAULT_MAX_PIXELS, type DecodeOptions } from '../inference/decode.js';
import type { ModelRegistry } from '../inference/registry.js';
import type { AppDeps } from './deps.js';
import { HttpError, isHtmx, makeErrorHandler, wantsJson } from './errors.js';
import { loadExamples, type ExampleSet } from './examples.js';
import { apiRoutes } from './routes/api.js';
import { assetRoutes } from './routes/assets.js';
import { pageRoutes, renderPage } from './routes/pages.js';
import { createViews } from './views.js';

export const DEFAULT_MAX_UPLOAD_MB = 10;

export interface AppOptions {
  registry: ModelRegistry;
  /** Largest accepted request body in bytes (default 10 MB). */
  maxUploadBytes?: number;
  /** Largest accepted image in pixels (decompression bombs). */
  maxPixels?: number;
  /** Where the models came from (shown on the no-models page). */
  modelsDir?: string;
  /** Example photos for the strip (default: the installed demo photos). */
  examples?: ExampleSet;
  /** Start-up and error messages (default: silent). */
  log?: (msg: string) => void;
  /** Log one line per request (the CLI turns it on). */
  logRequests?: boolean;
}

export function createApp(options: AppOptions): Hono {
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_MB * 1024 * 1024;
  const decode: DecodeOptions = { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
  const deps: AppDeps = {
    registry: options.registry,
    examples: options.examples ?? loadExamples(),
    views: createViews(),
    decode,
    maxUploadBytes,
    modelsDir: options.modelsDir ?? 'models/',
    log: options.log ?? (() => {}),
  };

  const app = new Hono();

  if (options.logRequests) {
    app.use(async (c, next) => {
      const t0 = performance.now();
      await next();
      deps.log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - t0).toFixed(1)}ms`);
    });
  }

  // Uploads only: refuse an oversized body before reading it into memory.
  const mb = Math.round((maxUploadBytes / 1024 / 1024) * 10) / 10;
  const limit = bodyLimit({
    maxSize: maxUploadBytes,
    onError: () => { throw new HttpError(413, `The file is too large: the limit is ${mb} MB. Please choose a smaller photo.`); },
  });
  app.use('/predict', limit);
  app.use('/api/predict', limit);

  app.route('/', pageRoutes(deps));
  app.route('/', apiRoutes(deps));
  app.route('/', assetRoutes(deps));

  app.notFound((c) => {
    if (wantsJson(c)) return c.json({ error: `Nothing at ${c.req.path}.` }, 404);
    if (isHtmx(c)) return c.html(deps.views.error('Nothing at this address.'), 404);
    return c.html(deps.views.notFound(), 404);
  });
  app.onError(makeErrorHandler({
    partial: (message) => deps.views.error(message),
    page: (_c, message) => renderPage(deps, deps.views.error(message)),
  }, deps.log));

  return app;
}
