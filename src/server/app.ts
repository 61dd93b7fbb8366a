/**
 * createApp(options) -> the Hono app. No listening here: the CLI and the
 * tests start it on whatever host and port they like (see listen.ts).
 */
import { Hono } from 'hono';
import { DEFAULT_MAX_PIXELS } from '../inference/decode.js';
import type { DetectorName } from '../inference/detect/index.js';
import { DEFAULT_MAX_FACES } from '../inference/faces.js';
import type { AnalyseOptions } from '../inference/pipeline.js';
import type { ModelRegistry } from '../inference/registry.js';
import { basePathGetter, normaliseBasePath } from './base-path.js';
import type { AppDeps } from './deps.js';
import { isHtmx, makeErrorHandler, wantsJson } from './errors.js';
import { loadExamples, type ExampleSet } from './examples.js';
import type { Flagging } from './flagging/index.js';
import { apiRoutes } from './routes/api.js';
import { assetRoutes } from './routes/assets.js';
import { compareRoutes } from './routes/compare.js';
import { pageRoutes, renderPage } from './routes/pages.js';
import { privateRoutes } from './routes/private.js';
import { videoRoutes } from './routes/video.js';
import { uiLocals } from './request-context.js';
import { installSharing, type SharingOptions } from './sharing.js';
import { closeAfterUnreadUpload } from './unread-upload.js';
import { createViews } from './views.js';

export const DEFAULT_MAX_UPLOAD_MB = 10;

export interface AppOptions extends SharingOptions {
  registry: ModelRegistry;
  /** Largest accepted request body in bytes (default 10 MB). */
  maxUploadBytes?: number;
  /** Largest accepted image in pixels (decompression bombs). */
  maxPixels?: number;
  /** Most faces analysed in one photo (default 20). */
  maxFaces?: number;
  /** Face detector (default BlazeFace). */
  detector?: DetectorName;
  /** Where the models came from (shown on the no-models page). */
  modelsDir?: string;
  /** Example photos for the strip (default: the installed demo photos). */
  examples?: ExampleSet;
  /** Start-up and error messages (default: silent). */
  log?: (msg: string) => void;
  /** Log one line per request (the CLI turns it on). */
  logRequests?: boolean;
  /** Where flagged faces go (see flagging/); absent = no flag control. The caller closes it. */
  flagging?: Flagging | null;
  /** Offer private mode: the page may run the models in the browser (routes/private.ts). */
  privateMode?: boolean;
}

export function createApp(options: AppOptions): Hono {
  const maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_MB * 1024 * 1024;
  const decode: AnalyseOptions = {
    maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxFaces: options.maxFaces ?? DEFAULT_MAX_FACES,
    detector: options.detector,
    log: options.log,
  };
  const deps: AppDeps = {
    registry: options.registry,
    examples: options.examples ?? loadExamples(),
    views: createViews(),
    decode,
    maxUploadBytes,
    modelsDir: options.modelsDir ?? 'models/',
    log: options.log ?? (() => {}),
    base: normaliseBasePath(options.basePath),
    flagging: options.flagging ?? null,
    // In-browser inference needs BlazeFace (the browser port follows it), not face-api's SSD.
    privateMode: !!options.privateMode && (options.detector ?? 'blazeface') === 'blazeface',
  };

  // Routes live at "/"; under --base-path the prefix is stripped before routing (base-path.ts).
  const app = new Hono({ getPath: basePathGetter(deps.base) });
  // An early answer to an upload still arriving closes the connection (see unread-upload.ts).
  app.use(closeAfterUnreadUpload());

  if (options.logRequests) {
    app.use(async (c, next) => {
      const t0 = performance.now();
      await next();
      deps.log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - t0).toFixed(1)}ms`);
    });
  }

  // Headers, language, Host check, auth, rate limit, body limits and queue come before every route.
  installSharing(app, deps, options);

  app.route('/', pageRoutes(deps));
  app.route('/', apiRoutes(deps));
  app.route('/', assetRoutes(deps));
  app.route('/', compareRoutes(deps));
  app.route('/', videoRoutes(deps));
  if (deps.privateMode) {
    app.route('/', privateRoutes({ registry: deps.registry, base: deps.base, maxFaces: decode.maxFaces ?? DEFAULT_MAX_FACES }));
  }

  app.notFound((c) => {
    const { t } = uiLocals();
    if (wantsJson(c)) return c.json({ error: t('err.nothingAt', { path: c.req.path }) }, 404);
    if (isHtmx(c)) return c.html(deps.views.error(t('err.nothingHere')), 404);
    return c.html(deps.views.notFound(), 404);
  });
  app.onError(
    makeErrorHandler(
      {
        partial: (message) => deps.views.error(message),
        page: (_c, message) => renderPage(deps, deps.views.error(message)),
      },
      deps.log,
    ),
  );

  return app;
}
