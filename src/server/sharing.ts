/**
 * Running the demo for other people, wired into the app in one
 * place: security headers, the interface language, basic auth, the
 * per-client rate limit and the prediction queue in front of the routes that
 * run a model, and the flag / review / API / share routes.
 */
import type { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { createRequire } from 'node:module';
import type { AppDeps } from './deps.js';
import { uiMiddleware } from './i18n/middleware.js';
import { authMiddleware, DEFAULT_LOGIN_BURST, DEFAULT_LOGIN_REFILL_MS, type Credential } from './middleware/auth.js';
import { DEFAULT_BODY_IDLE_MS, kilobytes, receiveBody } from './middleware/body.js';
import { clientAddress } from './middleware/client.js';
import { hostCheck, HostAllowList } from './middleware/host.js';
import { DEFAULT_QUEUE, queueMiddleware, WorkQueue, type QueueOptions } from './middleware/queue.js';
import { rateLimit } from './middleware/rate-limit.js';
import { securityHeaders } from './middleware/security.js';
import { uiLocals } from './request-context.js';
import { docsRoutes } from './routes/docs.js';
import { flagRoutes } from './routes/flag.js';
import { shareRoutes } from './routes/share.js';
import type { ShareLinkState } from './share-link.js';
import { createSharingViews } from './sharing-views.js';

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

export interface Sharing {
  queue: WorkQueue;
}

/** Call right after creating the app, before any route is added: middleware order matters. */
export function installSharing(app: Hono, deps: AppDeps, options: SharingOptions): Sharing {
  const base = deps.base;
  const users = options.auth ?? [];
  const trustProxy = options.trustProxy ?? false;
  const views = createSharingViews();

  const hosts = options.hosts ?? new HostAllowList(options.listenHost ?? '127.0.0.1');
  if (options.publicUrl) hosts.add(options.publicUrl);
  for (const h of options.allowedHosts ?? []) hosts.add(h);

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

  app.route('/', flagRoutes({ flagging: deps.flagging, views, base, log: deps.log }));
  app.route('/', docsRoutes({ app, views, base, auth: users.length > 0, version: packageVersion(), publicUrl: options.publicUrl }));
  app.route(
    '/',
    shareRoutes({
      views,
      base,
      listenHost: options.listenHost ?? '127.0.0.1',
      publicUrl: options.publicUrl,
      trustProxy,
      hosts,
      shareLink: options.shareLink,
    }),
  );
  return { queue };
}
