/**
 * One error path for the whole server: every failure becomes a status and a
 * sentence a person understands, shown as JSON for the API, as the error
 * partial for htmx, and as the full page for a plain form POST.
 */
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ImageInputError } from '../../inference/decode.js';
import { ERROR_MESSAGES, fillMessage, type ErrorKey, type MessageParams } from '../../messages/errors.js';
import { uiLocals } from './request-context.js';

/**
 * An error whose message is meant for the user: a key of src/messages/errors.ts with its parameters
 * (translated where it is shown), or a sentence already in the request's language (`t(...)`).
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly key: ErrorKey | null;
  readonly params: MessageParams;
  constructor(status: ContentfulStatusCode, keyOrText: ErrorKey | string, params: MessageParams = {}) {
    const key = isErrorKey(keyOrText) ? keyOrText : null;
    super(key ? fillMessage(ERROR_MESSAGES[key], params) : keyOrText);
    this.name = 'HttpError';
    this.status = status;
    this.key = key;
    this.params = params;
  }
}

const isErrorKey = (s: string): s is ErrorKey => Object.prototype.hasOwnProperty.call(ERROR_MESSAGES, s);

/** What the user is told: a message key with its parameters, or a sentence already in their language. */
export interface PublicError {
  status: ContentfulStatusCode;
  key: ErrorKey | null;
  params: MessageParams;
  message: string;
}

const keyed = (status: number, key: ErrorKey, params: MessageParams = {}): PublicError => ({
  status: status as ContentfulStatusCode,
  key,
  params,
  message: fillMessage(ERROR_MESSAGES[key], params),
});

/** Maps anything thrown to what the user is told; unknown errors say nothing internal. */
export function toPublicError(err: unknown): PublicError {
  if (err instanceof HttpError) return { status: err.status, key: err.key, params: err.params, message: err.message };
  if (err instanceof ImageInputError) return keyed(err.status, err.key, err.params);
  if (err instanceof HTTPException) {
    if (err.status === 413) return keyed(413, 'err.uploadTooLarge');
    return {
      status: err.status as ContentfulStatusCode,
      key: null,
      params: {},
      message: err.message || 'The request could not be handled.',
    };
  }
  return keyed(500, 'err.server');
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
    // The sentence in the user's language.
    const message = pub.key ? uiLocals().t(pub.key, pub.params) : pub.message;
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
