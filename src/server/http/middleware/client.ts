/**
 * Who is asking, for per-client limits: the socket's remote address, or -
 * behind a reverse proxy that the operator trusts (`--trust-proxy`) - the
 * address the proxy appended to X-Forwarded-For.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    // The last entry is the one our proxy added; earlier ones the client can forge.
    const last = forwarded
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .pop();
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not running under @hono/node-server (app.request in a test)
  }
}
