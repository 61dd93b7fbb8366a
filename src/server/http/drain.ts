/**
 * Closing a server without cutting anyone off: stop accepting connections,
 * let the requests already in flight finish, close each keep-alive socket as
 * soon as it goes idle, and only after `graceMs` cut whatever is left.
 */
import type { ServerType } from '@hono/node-server';

export interface DrainResult {
  /** True when the grace period ran out and open connections were cut. */
  forced: boolean;
  ms: number;
}

/** How often idle keep-alive sockets are swept while draining. */
const SWEEP_MS = 50;

export function drainServer(server: ServerType, graceMs: number): Promise<DrainResult> {
  const t0 = performance.now();
  const closeIdle = () => {
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  const closeAll = () => {
    if ('closeAllConnections' in server) server.closeAllConnections();
  };
  return new Promise((done) => {
    let forced = false;
    let sweep: NodeJS.Timeout | undefined;
    let deadline: NodeJS.Timeout | undefined;
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      done({ forced, ms: Math.round(performance.now() - t0) });
    });
    if (graceMs <= 0) {
      forced = true;
      closeAll();
      return;
    }
    // A socket whose response has just been sent stays open for keep-alive:
    // sweep idle ones until close() sees no connection left.
    closeIdle();
    sweep = setInterval(closeIdle, SWEEP_MS);
    deadline = setTimeout(() => {
      forced = true;
      closeAll();
    }, graceMs);
  });
}
