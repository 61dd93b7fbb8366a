/**
 * HTTP basic auth over the whole server (`--auth user:password`, repeatable,
 * or the EKSPRESI_AUTH variable). Hono's basicAuth does the checking (timing-
 * safe comparison); this file says what it guards and how a refusal reads.
 * Only a health check and the favicon stay public, so a load balancer can
 * probe and a browser tab shows the icon before the password prompt.
 */
import type { MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { HTTPException } from 'hono/http-exception';
import { wantsJson } from '../errors.js';
import { uiLocals } from '../request-context.js';

export interface Credential { username: string; password: string }

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
  return value.split(/[,\n]/).map((s) => s.trim()).filter(Boolean).map(parseCredential);
}

/** Guards every non-public path; with no credentials it lets everything through. */
export function authMiddleware(users: Credential[]): MiddlewareHandler {
  if (users.length === 0) return async (_c, next) => { await next(); };
  const [first, ...rest] = users;
  const check = basicAuth({
    ...first,
    realm: 'ekspresi',
    invalidUserMessage: (c) => {
      const message = uiLocals().t('auth.required');
      return wantsJson(c) ? { error: message } : message;
    },
  }, ...rest);
  return async (c, next) => {
    if (isPublicPath(c.req.path)) { await next(); return; }
    try {
      await check(c, next);
    } catch (e) {
      // basicAuth throws its 401 (with WWW-Authenticate) as an exception; the
      // app's error handler would rebuild it without that header.
      if (e instanceof HTTPException && e.status === 401) {
        const res = e.getResponse();
        res.headers.set('Cache-Control', 'no-store');
        return res;
      }
      throw e;
    }
  };
}
