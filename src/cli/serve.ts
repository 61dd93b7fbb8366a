/**
 * `npm start`: loads every model in the models folder once, then serves the
 * demo page and the JSON API.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { DEFAULT_MAX_PIXELS } from '../inference/decode.js';
import { disposeRegistry, loadRegistry } from '../inference/registry.js';
import { createApp, DEFAULT_MAX_UPLOAD_MB } from '../server/app.js';
import { listen } from '../server/listen.js';
import { initBackend } from '../tf/backend.js';

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number.`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('The port must be a whole number from 0 to 65535.');
  return n;
}

const program = new Command()
  .name('npm start --')
  .description('Serve the facial-expression demo page and JSON API.')
  .addOption(new Option('-p, --port <port>', 'port to listen on').env('PORT').argParser(port).default(7860))
  .option('--host <host>', 'address to listen on; 0.0.0.0 shares it on the network', '127.0.0.1')
  .option('--models <dir>', 'folder with one subfolder per model', 'models')
  .option('--max-upload-mb <mb>', 'largest accepted upload in megabytes', positiveNumber('--max-upload-mb'), DEFAULT_MAX_UPLOAD_MB)
  .option('--max-megapixels <mp>', 'largest accepted image in megapixels', positiveNumber('--max-megapixels'), DEFAULT_MAX_PIXELS / 1e6)
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu (default: best available)')
  .option('--quiet', 'do not log each request')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{
    port: number; host: string; models: string; maxUploadMb: number; maxMegapixels: number; backend?: string; quiet?: boolean;
  }>();
  const log = (msg: string) => console.log(msg);
  await initBackend(opts.backend, log);
  const modelsDir = path.resolve(opts.models);
  const registry = await loadRegistry(modelsDir, log);
  if (registry.models.length === 0) {
    log(`No models in ${modelsDir}: the page will explain how to train one.`);
  }
  const app = createApp({
    registry,
    modelsDir,
    maxUploadBytes: Math.round(opts.maxUploadMb * 1024 * 1024),
    maxPixels: Math.round(opts.maxMegapixels * 1e6),
    log,
    logRequests: !opts.quiet,
  });
  const server = await listen(app, opts.port, opts.host);
  const shown = opts.host === '0.0.0.0' || opts.host === '::' ? `http://127.0.0.1:${server.port}` : server.url;
  console.log(`ekspresi demo: open ${shown}`);

  const stop = async () => {
    await server.close();
    disposeRegistry(registry);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') console.error(`Port already in use: start with --port <another> (or PORT=...).`);
  else console.error(`Could not start the server: ${err.message ?? String(e)}`);
  process.exit(1);
});
