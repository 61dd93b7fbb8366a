/** Starts an app on a host and port (0 = any free port) and says where. */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { drainServer } from './drain.js';

export interface RunningServer {
  url: string;
  port: number;
  /**
   * Stops listening. With `graceMs` > 0 requests in flight may finish first
   * (see drain.ts); by default open connections are cut at once.
   */
  close(graceMs?: number): Promise<void>;
}

export function listen(app: Hono, port: number, host: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        // Keep-alive sockets would hold close() open: drainServer closes them.
        close: async (graceMs = 0) => {
          await drainServer(server, graceMs);
        },
      });
    });
    server.once('error', reject);
  });
}
