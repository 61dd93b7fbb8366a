/** Starts the real app on a loopback port for a test file. */
import { createApp, type AppOptions } from '../../src/server/app.js';
import { listen, type RunningServer } from '../../src/server/http/listen.js';
import { loadRegistry, disposeRegistry, type ModelRegistry } from '../../src/inference/registry.js';

export interface TestServer extends RunningServer {
  registry: ModelRegistry;
  logs: string[];
}

export async function startTestServer(modelsDir: string, options: Partial<AppOptions> = {}): Promise<TestServer> {
  const logs: string[] = [];
  const log = (m: string) => {
    logs.push(m);
  };
  const registry = await loadRegistry(modelsDir, log);
  const app = createApp({ registry, modelsDir, log, ...options });
  const server = await listen(app, 0, '127.0.0.1');
  return {
    ...server,
    registry,
    logs,
    close: async () => {
      await server.close();
      disposeRegistry(registry);
    },
  };
}
