/**
 * A real server on loopback with the sharing features switched on: a fresh
 * data folder (real SQLite file) in a temp dir, and any SharingOptions.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type AppOptions } from '../../src/server/app.js';
import { openFlagging, type Flagging } from '../../src/server/flagging/index.js';
import { listen } from '../../src/server/http/listen.js';
import { disposeRegistry, loadRegistry } from '../../src/inference/registry.js';

export interface SharingServer {
  /** Origin, without the base path. */
  origin: string;
  /** Origin + base path: where the demo is. */
  url: string;
  dataDir: string;
  flagging: Flagging | null;
  logs: string[];
  close(): Promise<void>;
}

export async function startSharingServer(
  modelsDir: string,
  options: Partial<AppOptions> & { flag?: boolean } = {},
): Promise<SharingServer> {
  const logs: string[] = [];
  const log = (m: string) => {
    logs.push(m);
  };
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-data-'));
  const flagging = options.flag === false ? null : openFlagging(dataDir);
  const registry = await loadRegistry(modelsDir, log);
  const app = createApp({ registry, modelsDir, log, flagging, ...options });
  const server = await listen(app, 0, '127.0.0.1');
  return {
    origin: server.url,
    url: server.url + (options.basePath ?? ''),
    dataDir,
    flagging,
    logs,
    close: async () => {
      await server.close();
      disposeRegistry(registry);
      flagging?.store.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function basicAuthHeader(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
