/**
 * A per-client rate limit for the routes that run a model: a token bucket of
 * `perMinute` tokens that refills continuously, so a class of students can
 * each try photos freely while one script cannot monopolise the server.
 * Beyond it: 429 with Retry-After and a sentence in the user's language.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from '../errors.js';
import { uiLocals } from '../request-context.js';

export interface RateLimitOptions {
  /** Requests per minute per client (also the burst size). */
  perMinute: number;
  /** The client a request counts against. */
  key: (c: Context) => string;
  /** Clock in ms (tests pass a fake one). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets idle this long are full again and can be forgotten. */
const FORGET_MS = 10 * 60_000;

export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const { perMinute, key } = options;
  const now = options.now ?? Date.now;
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();

  function sweep(t: number): void {
    if (t - lastSweep < 60_000) return;
    lastSweep = t;
    for (const [k, b] of buckets) if (t - b.at > FORGET_MS) buckets.delete(k);
  }

  return async (c, next) => {
    const t = now();
    sweep(t);
    const id = key(c);
    const b = buckets.get(id) ?? { tokens: perMinute, at: t };
    b.tokens = Math.min(perMinute, b.tokens + (t - b.at) * perMs);
    b.at = t;
    buckets.set(id, b);
    if (b.tokens < 1) {
      const seconds = Math.max(1, Math.ceil((1 - b.tokens) / perMs / 1000));
      c.header('Retry-After', String(seconds));
      throw new HttpError(429, uiLocals().t('limit.rate', { seconds }));
    }
    b.tokens -= 1;
    await next();
  };
}
