/**
 * Receiving a request body before anything else looks at it, for every route
 * that reads one: the whole body, up to a limit that fits the route, counted
 * while it streams in (a declared Content-Length over the limit is refused
 * from the headers), and cut off when it stalls. A refused body is read to
 * its end (within bounds) and dropped, so the client gets to read its 413. Memory stays bounded by
 * the limit whatever a client sends. Installed before the prediction queue,
 * so a slow or stalled upload holds its own connection, never a prediction
 * place. The route then reads the buffered body as usual (c.req.parseBody,
 * c.req.arrayBuffer).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from '../errors.js';
import { uiLocals } from '../request-context.js';

/** A body that sends nothing for this long is cut off (ms). */
export const DEFAULT_BODY_IDLE_MS = 12_000;

export interface BodyLimit {
  maxBytes: number;
  /** Longest pause between two pieces of the body (ms). */
  idleMs: number;
  /** The 413 sentence (in the request's language). */
  tooLarge: () => string;
}

class Stalled extends Error {}

/**
 * A refused body is still read, and dropped, up to these bounds before the 413 is sent: a client
 * that is still sending when the server answers and hangs up gets its connection reset and never
 * reads the answer. Beyond them (a body far over any limit) the connection is cut as before.
 */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/** Reads and drops the rest of a refused body, within the bounds above; never throws. */
async function drainRest(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number, alreadyRead: number): Promise<void> {
  const until = Date.now() + DRAIN_MAX_MS;
  let read = alreadyRead;
  try {
    while (read <= DRAIN_MAX_BYTES && Date.now() < until) {
      const chunk = await readWithin(reader, Math.min(idleMs, Math.max(1, until - Date.now())));
      if (chunk.done) return;
      read += chunk.value.length;
    }
  } catch {
    // Stalled or gone: the 413 goes out anyway.
  }
}

/** The next chunk, or Stalled when none comes within `ms`. */
function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<ReadableStreamReadResult<Uint8Array>> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Stalled()), ms);
  });
  return Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
}

/** The declared length, null when none (chunked), or a 400 for a malformed one. */
function declaredLength(c: Context): number | null {
  if (c.req.header('transfer-encoding') !== undefined) return null;
  const value = c.req.header('content-length');
  if (value === undefined) return null;
  if (!/^\d{1,15}$/.test(value.trim())) throw new HttpError(400, uiLocals().t('limit.badLength'));
  return Number(value);
}

export function receiveBody(limit: BodyLimit): MiddlewareHandler {
  return async (c, next) => {
    const declared = declaredLength(c);
    const stream = c.req.raw.body;
    if (declared !== null && declared > limit.maxBytes) {
      if (stream && declared <= DRAIN_MAX_BYTES) await drainRest(stream.getReader(), limit.idleMs, 0);
      throw new HttpError(413, limit.tooLarge());
    }
    if (!stream) return next();
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await readWithin(reader, limit.idleMs);
      } catch (e) {
        const { t } = uiLocals();
        if (e instanceof Stalled) throw new HttpError(408, t('limit.stalled', { seconds: Math.round(limit.idleMs / 1000) }));
        // The client went away mid-upload: nobody will read the answer, and it is not our fault.
        throw new HttpError(400, t('limit.aborted'));
      }
      if (chunk.done) break;
      size += chunk.value.length;
      if (size > limit.maxBytes) {
        await drainRest(reader, limit.idleMs, size);
        throw new HttpError(413, limit.tooLarge());
      }
      chunks.push(chunk.value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const part of chunks) {
      body.set(part, offset);
      offset += part.length;
    }
    const raw = c.req.raw;
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body });
    await next();
  };
}

/** "16 KB" for the 413 sentence. */
export function kilobytes(bytes: number): number {
  return Math.max(1, Math.round(bytes / 1024));
}
