/**
 * HTTP basic auth over the whole server (`--auth user:password`, repeatable,
 * or the EKSPRESI_AUTH variable). Hono's basicAuth does the checking (timing-
 * safe comparison); this file says what it guards and how a refusal reads.
 * Only a health check and the favicon stay public, so a load balancer can
 * probe and a browser tab shows the icon before the password prompt.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { HTTPException } from 'hono/http-exception';
import { HttpError, wantsJson } from '../errors.js';
import { uiLocals } from '../request-context.js';

export interface Credential {
  username: string;
  password: string;
}

/** The environment variable read when no --auth is given. */
export const AUTH_ENV = 'EKSPRESI_AUTH';

const PUBLIC_PATHS = new Set(['/healthz', '/static/favicon.svg']);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path);
}

/** "user:password" -> credential; the password may itself contain ':'. */
export function parseCredential(value: string): Credential {
  const i = value.indexOf(':');
  if (i <= 0 || i === value.length - 1) {
    throw new Error('An --auth value must look like user:password (both parts non-empty).');
  }
  return { username: value.slice(0, i), password: value.slice(i + 1) };
}

/** EKSPRESI_AUTH="alice:secret,bob:other" (commas or new lines between users). */
export function credentialsFromEnv(value: string | undefined): Credential[] {
  if (!value) return [];
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseCredential);
}

/**
 * Wrong passwords allowed per client: a burst of `burst`, then one more every
 * `refillMs`. Beyond it every request of that client gets 429 with
 * Retry-After, right or wrong, without the password being checked, so
 * guessing runs at a few tries a minute instead of hundreds a second.
 */
export interface LoginThrottle {
  burst: number;
  refillMs: number;
  /** The client a failure counts against. */
  key: (c: Context) => string;
  now?: () => number;
}

export const DEFAULT_LOGIN_BURST = 10;
export const DEFAULT_LOGIN_REFILL_MS = 6_000;

interface Allowance {
  tries: number;
  at: number;
}

class FailureCounter {
  private readonly clients = new Map<string, Allowance>();
  private lastSweep: number;
  constructor(
    private readonly o: LoginThrottle,
    private readonly now: () => number,
  ) {
    this.lastSweep = now();
  }

  private current(id: string, t: number): Allowance {
    const a = this.clients.get(id) ?? { tries: this.o.burst, at: t };
    a.tries = Math.min(this.o.burst, a.tries + (t - a.at) / this.o.refillMs);
    a.at = t;
    return a;
  }

  /** Seconds until the client may try again, or 0 when it may try now. */
  waitSeconds(id: string): number {
    const t = this.now();
    const a = this.current(id, t);
    return a.tries >= 1 ? 0 : Math.max(1, Math.ceil(((1 - a.tries) * this.o.refillMs) / 1000));
  }

  fail(id: string): void {
    const t = this.now();
    const a = this.current(id, t);
    a.tries = Math.max(0, a.tries - 1);
    this.clients.set(id, a);
    // Clients whose allowance is full again are forgotten (bounded memory).
    if (t - this.lastSweep > 60_000) {
      this.lastSweep = t;
      for (const k of this.clients.keys()) if (this.current(k, t).tries >= this.o.burst) this.clients.delete(k);
    }
  }
}

/** Guards every non-public path; with no credentials it lets everything through. */
export function authMiddleware(users: Credential[], throttle?: LoginThrottle): MiddlewareHandler {
  if (users.length === 0)
    return async (_c, next) => {
      await next();
    };
  const [first, ...rest] = users;
  const check = basicAuth(
    {
      ...first,
      realm: 'ekspresi',
      invalidUserMessage: (c) => {
        const message = uiLocals().t('auth.required');
        return wantsJson(c) ? { error: message } : message;
      },
    },
    ...rest,
  );
  const failures = throttle ? new FailureCounter(throttle, throttle.now ?? Date.now) : null;
  return async (c, next) => {
    if (isPublicPath(c.req.path)) {
      await next();
      return;
    }
    const client = failures && throttle ? throttle.key(c) : '';
    const wait = failures?.waitSeconds(client) ?? 0;
    if (wait > 0) {
      c.header('Retry-After', String(wait));
      c.header('Cache-Control', 'no-store');
      throw new HttpError(429, uiLocals().t('auth.throttled', { seconds: wait }));
    }
    try {
      await check(c, next);
    } catch (e) {
      // basicAuth throws its 401 (with WWW-Authenticate) as an exception; the
      // app's error handler would rebuild it without that header.
      if (e instanceof HTTPException && e.status === 401) {
        // Only a password that was tried counts: a browser's first request carries none.
        if (c.req.header('authorization') !== undefined) failures?.fail(client);
        const res = e.getResponse();
        res.headers.set('Cache-Control', 'no-store');
        return res;
      }
      throw e;
    }
  };
}
