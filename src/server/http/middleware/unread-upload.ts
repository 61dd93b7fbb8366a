/**
 * Answers given before the upload was read (a bad query, a rate limit, a full
 * queue, no password, an unknown path) on a keep-alive connection: the rest
 * of the body is still arriving. @hono/node-server then drains it for at most
 * 500 ms and destroys the socket, and if the client has meanwhile sent its
 * next request on that connection, that request dies with it ("other side
 * closed"; found by tests/hardening/fuzz.test.ts). Saying `Connection: close` on such an
 * answer makes the client open a fresh connection for its next request.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';

/** True when the request's body has not fully arrived (Node server only). */
export function uploadStillArriving(c: Context): boolean {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return typeof incoming?.complete === 'boolean' && !incoming.complete;
}

export function closeAfterUnreadUpload(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (uploadStillArriving(c)) c.header('Connection', 'close');
  };
}
