/**
 * The `npm start` options for running the demo for other people:
 * base path, basic auth, data folder, queue, rate limit, proxy. Kept apart
 * from serve.ts so that file stays a short list of steps.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import path from 'node:path';
import { normaliseBasePath } from '../server/http/base-path.js';
import { openFlagging, type Flagging } from '../server/flagging/index.js';
import { AUTH_ENV, credentialsFromEnv, parseCredential, type Credential } from '../server/http/middleware/auth.js';
import { DEFAULT_QUEUE } from '../server/http/middleware/queue.js';
import { DEFAULT_RATE_LIMIT, type SharingOptions } from '../server/app.js';

function wholeNumber(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number of at least ${min}.`);
    return n;
  };
}

function credential(value: string, previous: Credential[] = []): Credential[] {
  try {
    return [...previous, parseCredential(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function basePath(value: string): string {
  try {
    return normaliseBasePath(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function addSharingOptions(program: Command): Command {
  return program
    .option('--base-path <path>', 'serve under this URL prefix, e.g. /ekspresi behind a reverse proxy', basePath, '')
    .option(
      '--auth <user:password>',
      `require HTTP basic auth; repeat for more users (or set ${AUTH_ENV}="user:pass,user2:pass2")`,
      credential,
    )
    .option('--data-dir <dir>', 'folder for flagged faces (SQLite + crops)', 'data')
    .option('--no-flagging', 'turn the "Wrong? Flag it" control off (nothing is ever stored)')
    .option('--concurrency <n>', 'predictions that run at the same time', wholeNumber('--concurrency', 1), DEFAULT_QUEUE.concurrency)
    .option(
      '--queue <n>',
      'requests that may wait for a free place; beyond it: 503 + Retry-After',
      wholeNumber('--queue', 0),
      DEFAULT_QUEUE.maxWaiting,
    )
    .option('--rate-limit <n>', 'predictions per minute per client (0 = no limit)', wholeNumber('--rate-limit', 0), DEFAULT_RATE_LIMIT)
    .addOption(new Option('--trust-proxy', 'take client addresses from X-Forwarded-For (only behind your own reverse proxy)'))
    .option('--public-url <url>', 'the address people use to reach the demo (shown by the Share button)')
    .option(
      '--allow-host <name>',
      'another name the server answers to (repeatable); requests for other names get 421',
      (v: string, prev: string[] = []) => [...prev, v],
    );
}

export interface SharingCliOptions {
  basePath: string;
  auth?: Credential[];
  dataDir: string;
  flagging: boolean;
  concurrency: number;
  queue: number;
  rateLimit: number;
  trustProxy?: boolean;
  publicUrl?: string;
  allowHost?: string[];
}

export interface SharingSetup {
  options: SharingOptions;
  flagging: Flagging | null;
  dataDir: string | null;
}

export function sharingSetup(opts: SharingCliOptions, host: string, env: NodeJS.ProcessEnv = process.env): SharingSetup {
  const auth = opts.auth?.length ? opts.auth : credentialsFromEnv(env[AUTH_ENV]);
  if (opts.publicUrl) {
    try {
      new URL(opts.publicUrl);
    } catch {
      throw new Error(`--public-url "${opts.publicUrl}" is not a URL like https://example.org/ekspresi/.`);
    }
  }
  const dataDir = opts.flagging ? path.resolve(opts.dataDir) : null;
  return {
    options: {
      basePath: opts.basePath,
      auth,
      queue: { concurrency: opts.concurrency, maxWaiting: opts.queue },
      rateLimitPerMinute: opts.rateLimit,
      trustProxy: Boolean(opts.trustProxy),
      listenHost: host,
      publicUrl: opts.publicUrl,
      allowedHosts: opts.allowHost ?? [],
    },
    flagging: dataDir ? openFlagging(dataDir) : null,
    dataDir,
  };
}
