/**
 * Running the demo for other people (issue 6), wired into the app in one
 * place: security headers, the interface language, basic auth, the
 * per-client rate limit and the prediction queue in front of the routes that
 * run a model, and the flag / review / API / share routes.
 */
import type { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { createRequire } from 'node:module';
import type { AppDeps } from './deps.js';
import { uiMiddleware } from './i18n/middleware.js';
import { authMiddleware, type Credential } from './middleware/auth.js';
import { clientAddress } from './middleware/client.js';
import { DEFAULT_QUEUE, queueMiddleware, WorkQueue, type QueueOptions } from './middleware/queue.js';
import { rateLimit } from './middleware/rate-limit.js';
import { securityHeaders } from './middleware/security.js';
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

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export interface Sharing { queue: WorkQueue }

/** Call right after creating the app, before any route is added: middleware order matters. */
export function installSharing(app: Hono, deps: AppDeps, options: SharingOptions): Sharing {
  const base = deps.base;
  const users = options.auth ?? [];
  const trustProxy = options.trustProxy ?? false;
  const views = createSharingViews();

  app.use(securityHeaders());
  app.use(uiMiddleware({ base, flagging: deps.flagging !== null }));
  app.use(authMiddleware(users));

  const perMinute = options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT;
  if (perMinute > 0) {
    const limit = rateLimit({ perMinute, key: (c) => clientAddress(c, trustProxy) });
    for (const p of [...PREDICT_PATHS, ...WRITE_PATHS]) app.post(p, limit);
  }
  const queue = new WorkQueue({ ...DEFAULT_QUEUE, ...options.queue });
  const queued = queueMiddleware(queue);
  for (const p of PREDICT_PATHS) app.post(p, queued);

  // The flag and review forms are for browsers on this site only: a page elsewhere must
  // not post to them with the visitor's cached password (Origin / Sec-Fetch-Site check).
  app.post('/flag', csrf());
  app.post('/flagged/*', csrf());

  app.route('/', flagRoutes({ flagging: deps.flagging, views, base, log: deps.log }));
  app.route('/', docsRoutes({ app, views, base, auth: users.length > 0, version: packageVersion() }));
  app.route('/', shareRoutes({
    views, base, listenHost: options.listenHost ?? '127.0.0.1', publicUrl: options.publicUrl, trustProxy, shareLink: options.shareLink,
  }));
  return { queue };
}
