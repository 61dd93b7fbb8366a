/**
 * `npm start`: loads every model in the models folder once, then serves the
 * demo page and the JSON API.
 */
import { HostAllowList } from '../server/http/middleware/host.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import { DEFAULT_MAX_PIXELS } from '../inference/decode.js';
import { DEFAULT_DETECTOR, DETECTORS, getFaceDetector, type DetectorName } from '../inference/detect/index.js';
import { DEFAULT_MAX_FACES } from '../inference/faces.js';
import { disposeRegistry, loadRegistry } from '../inference/registry.js';
import { createApp, DEFAULT_MAX_UPLOAD_MB } from '../server/app.js';
import { listen } from '../server/http/listen.js';
import { isLoopbackHost, reachableUrls, startupMessage } from '../server/sharing/share.js';
import { initBackend } from '../tf/backend.js';
import { addShareOptions, planShare, startShare, type ShareCliOptions } from './share-link.js';
import { addSharingOptions, sharingSetup, type SharingCliOptions } from './sharing-options.js';
import { DEFAULT_SHUTDOWN_GRACE_S, exitOnSignals } from './shutdown.js';

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
  .option('--max-faces <n>', 'most faces analysed in one photo', positiveNumber('--max-faces'), DEFAULT_MAX_FACES)
  .addOption(new Option('--detector <name>', 'face detector').choices([...DETECTORS]).default(DEFAULT_DETECTOR))
  .option('--no-private', 'do not offer private mode (the page running the models in the browser)')
  .option('--quiet', 'do not log each request')
  .option(
    '--shutdown-timeout <s>',
    'on SIGTERM/SIGINT, seconds that requests in flight may take to finish',
    positiveNumber('--shutdown-timeout'),
    DEFAULT_SHUTDOWN_GRACE_S,
  )
  .showHelpAfterError();
// --base-path, --auth, --data-dir, --concurrency, --queue, --rate-limit, ... (sharing-options.ts)
addSharingOptions(program);
// --share, --share-server, --share-timeout (share-link.ts)
addShareOptions(program);

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<
    {
      port: number;
      host: string;
      models: string;
      maxUploadMb: number;
      maxMegapixels: number;
      backend?: string;
      quiet?: boolean;
      maxFaces: number;
      detector: DetectorName;
      shutdownTimeout: number;
      private: boolean;
    } & SharingCliOptions &
      ShareCliOptions
  >();
  const sharing = sharingSetup(opts, opts.host);
  // A public link gets a generated password unless --auth users were given.
  const share = planShare(opts, opts.host, sharing.options.auth ?? []);
  if (share) sharing.options.auth = share.auth;
  const log = (msg: string) => console.log(msg);
  await initBackend(opts.backend, log);
  const modelsDir = path.resolve(opts.models);
  const registry = await loadRegistry(modelsDir, log);
  if (registry.models.length === 0) {
    log(`No models in ${modelsDir}: the page will explain how to train one.`);
  }
  // Load the face detector now rather than on the first photo.
  const detector = await getFaceDetector(opts.detector, log);
  log(`faces: ${detector.name} (${detector.source}), up to ${Math.floor(opts.maxFaces)} per photo`);
  // The names the server answers to; --share adds its tunnel's host once it is open.
  const hosts = new HostAllowList(opts.host);
  const app = createApp({
    registry,
    modelsDir,
    maxUploadBytes: Math.round(opts.maxUploadMb * 1024 * 1024),
    maxPixels: Math.round(opts.maxMegapixels * 1e6),
    maxFaces: Math.floor(opts.maxFaces),
    detector: opts.detector,
    log,
    logRequests: !opts.quiet,
    ...sharing.options,
    hosts,
    shareLink: share?.state,
    privateMode: opts.private,
    flagging: sharing.flagging,
  });
  const server = await listen(app, opts.port, opts.host);
  // Every address it answers at, and a QR code of the LAN one for phones.
  console.log(await startupMessage(reachableUrls(opts.host, server.port, sharing.options.basePath ?? '')));
  if (sharing.dataDir) console.log(`Flagged faces go to ${sharing.dataDir} (review them at ${sharing.options.basePath}/flagged).`);
  if (!sharing.options.auth?.length && !isLoopbackHost(opts.host)) {
    console.log('Note: no --auth is set, so anyone who can reach this address can use the demo and see /flagged.');
  }
  const shareRun = share ? startShare(share, server.port, opts, log, (url) => hosts.add(url)) : null;

  // SIGTERM / SIGINT: requests in flight finish (up to --shutdown-timeout), then exit 0.
  exitOnSignals(
    async (graceMs) => {
      shareRun?.close();
      await server.close(graceMs);
      disposeRegistry(registry);
      sharing.flagging?.store.close();
      log('Stopped.');
    },
    { graceMs: opts.shutdownTimeout * 1000, log },
  );
}

main().catch((e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') console.error(`Port already in use: start with --port <another> (or PORT=...).`);
  else console.error(`Could not start the server: ${err.message ?? String(e)}`);
  process.exit(1);
});
