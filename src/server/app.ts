/**
 * createApp(options) -> the Hono app: the one place where every middleware
 * and every route is put in order. No listening here: the CLI and the tests
 * start it on whatever host and port they like (see http/listen.ts).
 *
 * Where things live: http/ reads requests and answers them (routes/,
 * middleware/, upload and error handling), present/ turns results into
 * what is shown or sent (view models, the API's JSON and its schemas,
 * templates), sharing/ is the LAN address, QR code and public link,
 * flagging/ the store of flagged faces, i18n/ the interface's languages.
 */
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { createRequire } from 'node:module';
import { DEFAULT_MAX_PIXELS } from '../inference/decode.js';
import type { DetectorName } from '../inference/detect/index.js';
import { DEFAULT_MAX_FACES } from '../inference/faces.js';
import type { AnalyseOptions } from '../inference/pipeline.js';
import type { ModelRegistry } from '../inference/registry.js';
import type { AppDeps } from './deps.js';
import type { Flagging } from './flagging/index.js';
import { basePathGetter, normaliseBasePath } from './http/base-path.js';
import { isHtmx, makeErrorHandler, wantsJson } from './http/errors.js';
import { authMiddleware, DEFAULT_LOGIN_BURST, DEFAULT_LOGIN_REFILL_MS, type Credential } from './http/middleware/auth.js';
import { DEFAULT_BODY_IDLE_MS, kilobytes, receiveBody } from './http/middleware/body.js';
import { clientAddress } from './http/middleware/client.js';
import { hostCheck, HostAllowList } from './http/middleware/host.js';
import { DEFAULT_QUEUE, queueMiddleware, WorkQueue, type QueueOptions } from './http/middleware/queue.js';
import { rateLimit } from './http/middleware/rate-limit.js';
import { securityHeaders } from './http/middleware/security.js';
import { closeAfterUnreadUpload } from './http/middleware/unread-upload.js';
import { uiLocals } from './http/request-context.js';
import { apiRoutes } from './http/routes/api.js';
import { assetRoutes } from './http/routes/assets.js';
import { compareRoutes } from './http/routes/compare.js';
import { docsRoutes } from './http/routes/docs.js';
import { flagRoutes } from './http/routes/flag.js';
import { pageRoutes, renderPage } from './http/routes/pages.js';
import { privateRoutes } from './http/routes/private.js';
import { shareRoutes } from './http/routes/share.js';
import { videoRoutes } from './http/routes/video.js';
import { uiMiddleware } from './i18n/middleware.js';
import { loadExamples, type ExampleSet } from './present/examples.js';
import { createViews } from './present/views.js';
import type { ShareLinkState } from './sharing/share-link.js';

export const DEFAULT_MAX_UPLOAD_MB = 10;

/** How the demo is run for other people: proxy, auth, limits, addresses, the public link. */
export interface SharingOptions {
  /** URL prefix when served behind a reverse proxy under a sub-path ('/ekspresi'). */
  basePath?: string;
  /** HTTP basic auth users; empty or absent = no auth. */
  auth?: Credential[];
  /** Prediction queue: places running at once, places waiting, longest wait. */
  queue?: Partial<QueueOptions>;
  /** Predictions per minute per client; 0 turns the limit off (default 240). */
  rateLimitPerMinute?: number;
  /** Take the client address from X-Forwarded-For (only behind your own proxy). */
  trustProxy?: boolean;
  /** The address the server listens on (--host), for the share link. */
  listenHost?: string;
  /** The public address of the demo, when a proxy puts it on the internet. */
  publicUrl?: string;
  /** More names the server answers to (--allow-host); others get 421. */
  allowedHosts?: string[];
  /**
   * The names the server answers to, when the caller wants to add one while
   * it runs (a tunnel's host once it is open). Default: built from
   * listenHost, publicUrl and allowedHosts.
   */
  hosts?: HostAllowList;
  /** A request body that sends nothing for this long is cut off with 408 (ms, default 12 s). */
  bodyIdleMs?: number;
  /** Wrong passwords per client before 429 (burst), and one more per refillMs. */
  loginThrottle?: { burst: number; refillMs: number };
  /** The public link of --share (it opens after start-up), shown by the Share panel. */
  shareLink?: ShareLinkState;
}

// Generous enough for the webcam's live mode (a few frames a second), low enough that one
// script cannot take every place in the queue for long.
export const DEFAULT_RATE_LIMIT = 240;

/** Routes that run a model: they go through the rate limit and the queue. */
export const PREDICT_PATHS = ['/predict', '/api/predict'];
/** Routes that write: rate-limited, not queued. */
const WRITE_PATHS = ['/flag'];
/**
 * Largest body of the small forms (a flag: a signed 48x48 crop of about 4.5 KB
 * and a note of at most 500 characters; a delete button: nothing).
 */
export const FORM_BODY_BYTES = 16 * 1024;

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

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

  // Routes live at "/"; under --base-path the prefix is stripped before routing (http/base-path.ts).
  const app = new Hono({ getPath: basePathGetter(deps.base) });
  // An early answer to an upload still arriving closes the connection (see http/middleware/unread-upload.ts).
  app.use(closeAfterUnreadUpload());

  if (options.logRequests) {
    app.use(async (c, next) => {
      const t0 = performance.now();
      await next();
      deps.log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - t0).toFixed(1)}ms`);
    });
  }

  // Headers, language, Host check, auth, rate limit, body limits and queue come before every route.
  const hosts = hostList(options);
  guard(app, deps, options, hosts);

  app.route('/', flagRoutes({ flagging: deps.flagging, views: deps.views, base: deps.base, log: deps.log }));
  app.route(
    '/',
    docsRoutes({
      app,
      views: deps.views,
      base: deps.base,
      auth: (options.auth ?? []).length > 0,
      version: packageVersion(),
      publicUrl: options.publicUrl,
    }),
  );
  app.route(
    '/',
    shareRoutes({
      views: deps.views,
      base: deps.base,
      listenHost: options.listenHost ?? '127.0.0.1',
      publicUrl: options.publicUrl,
      trustProxy: options.trustProxy ?? false,
      hosts,
      shareLink: options.shareLink,
    }),
  );
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

/**
 * The middleware in front of every route, in order: security headers, the
 * interface language, the Host check, no caching of the API, basic auth, CSRF
 * checks of the forms, the per-client rate limit, body limits and the
 * prediction queue. Call before any route is added: middleware order matters.
 */
function guard(app: Hono, deps: AppDeps, options: SharingOptions, hosts: HostAllowList): void {
  const base = deps.base;
  const users = options.auth ?? [];
  const trustProxy = options.trustProxy ?? false;

  app.use(securityHeaders());
  app.use(uiMiddleware({ base, flagging: deps.flagging !== null }));
  app.use(hostCheck(hosts));
  // Answers from the API are about one request and one moment: never cached.
  app.use('/api/*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });
  app.use(
    authMiddleware(users, {
      burst: options.loginThrottle?.burst ?? DEFAULT_LOGIN_BURST,
      refillMs: options.loginThrottle?.refillMs ?? DEFAULT_LOGIN_REFILL_MS,
      key: (c) => clientAddress(c, trustProxy),
    }),
  );

  // The flag and review forms are for browsers on this site only: a page elsewhere must
  // not post to them with the visitor's cached password (Origin / Sec-Fetch-Site check).
  app.post('/flag', csrf());
  app.post('/flagged/*', csrf());

  const perMinute = options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT;
  if (perMinute > 0) {
    const limit = rateLimit({ perMinute, key: (c) => clientAddress(c, trustProxy) });
    for (const p of [...PREDICT_PATHS, ...WRITE_PATHS]) app.post(p, limit);
  }

  // Every body is received in full, within its limit, before the queue: a slow
  // upload holds a connection, never a prediction place.
  const idleMs = options.bodyIdleMs ?? DEFAULT_BODY_IDLE_MS;
  const mb = Math.round((deps.maxUploadBytes / 1024 / 1024) * 10) / 10;
  const upload = receiveBody({ maxBytes: deps.maxUploadBytes, idleMs, tooLarge: () => uiLocals().t('err.tooLarge', { mb }) });
  const form = receiveBody({
    maxBytes: FORM_BODY_BYTES,
    idleMs,
    tooLarge: () => uiLocals().t('limit.bodyTooLarge', { kb: kilobytes(FORM_BODY_BYTES) }),
  });
  for (const p of PREDICT_PATHS) app.post(p, upload);
  app.post('/flag', form);
  app.post('/flagged/*', form);

  const queue = new WorkQueue({ ...DEFAULT_QUEUE, ...options.queue });
  const queued = queueMiddleware(queue);
  for (const p of PREDICT_PATHS) app.post(p, queued);
}

/** The names the server answers to (others get 421): the Host check and the Share panel use the same list. */
function hostList(options: SharingOptions): HostAllowList {
  const hosts = options.hosts ?? new HostAllowList(options.listenHost ?? '127.0.0.1');
  if (options.publicUrl) hosts.add(options.publicUrl);
  for (const h of options.allowedHosts ?? []) hosts.add(h);
  return hosts;
}
