/**
 * One error path for the whole server: every failure becomes a status and a
 * sentence a person understands, shown as JSON for the API, as the error
 * partial for htmx, and as the full page for a plain form POST.
 */
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ImageInputError } from '../inference/decode.js';
import { localiseMessage } from './i18n/errors.js';
import { uiLocals } from './request-context.js';

/** An error whose message is meant for the user. */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(status: ContentfulStatusCode, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

export interface PublicError { status: ContentfulStatusCode; message: string }

/** Maps anything thrown to what the user is told; unknown errors say nothing internal. */
export function toPublicError(err: unknown): PublicError {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof ImageInputError) return { status: err.status as ContentfulStatusCode, message: err.message };
  if (err instanceof HTTPException) {
    const message = err.status === 413 ? 'The upload is too large.' : err.message || 'The request could not be handled.';
    return { status: err.status as ContentfulStatusCode, message };
  }
  return { status: 500, message: 'Something went wrong on our side while analysing the photo. Please try again.' };
}

/** True for requests that want JSON rather than HTML. */
export function wantsJson(c: Context): boolean {
  return c.req.path.startsWith('/api/') || c.req.path === '/healthz';
}

/** True for htmx requests, which get a partial rather than a page. */
export function isHtmx(c: Context): boolean {
  return c.req.header('HX-Request') === 'true';
}

export interface ErrorRenderers {
  /** The error partial (htmx). */
  partial(message: string): string;
  /** The full page with the error where the result would be (plain form POST). */
  page(c: Context, message: string): Promise<string> | string;
}

export function makeErrorHandler(render: ErrorRenderers, log: (msg: string) => void): ErrorHandler {
  return async (err, c) => {
    const pub = toPublicError(err);
    const { status } = pub;
    // The sentence in the user's language (i18n/errors.ts); unknown ones stay as they are.
    const message = localiseMessage(pub.message, uiLocals().t);
    if (status >= 500) log(`error: ${c.req.method} ${c.req.path}: ${(err as Error)?.stack ?? String(err)}`);
    // The rest of an oversized or stalled body may still be arriving: close
    // the connection after this answer instead of reusing a half-read socket.
    if (status === 413 || status === 408) c.header('Connection', 'close');
    if (wantsJson(c)) return c.json({ error: message }, status);
    if (isHtmx(c)) return c.html(render.partial(message), status);
    try {
      return c.html(await render.page(c, message), status);
    } catch (e) {
      // Rendering the page itself failed: fall back to text rather than throw again.
      log(`error: rendering the error page failed: ${(e as Error).message}`);
      return c.text(message, status);
    }
  };
}
