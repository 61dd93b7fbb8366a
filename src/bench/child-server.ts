/**
 * `npm start` as a child process on a loopback port: what the start-up figure
 * and the shutdown test need (the real CLI, the real signal handling). The
 * port is chosen by the OS (--port 0) and read back from the start-up message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVE = path.join(ROOT, 'src', 'cli', 'serve.ts');

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildServer {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the start-up message (the server is listening). */
  listeningMs: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  exited: Promise<ChildExit>;
  /** Sends `signal` and resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<ChildExit & { ms: number }>;
}

export interface ChildServerOptions {
  /** Extra `npm start` arguments (--models, --quiet, ...). */
  args?: string[];
  /** Give up waiting for the start-up message after this long. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export async function startChildServer(options: ChildServerOptions = {}): Promise<ChildServer> {
  const t0 = performance.now();
  // Loopback only, whatever the caller passes after it.
  const args = ['--import', 'tsx', SERVE, '--port', '0', '--host', '127.0.0.1', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${options.timeoutMs ?? 180_000} ms:\n${out}`));
    }, options.timeoutMs ?? 180_000);
    const onData = () => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        cleanup();
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`the server exited (code ${code}) before it listened:\n${out}`));
    };
    function cleanup() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  const listeningMs = performance.now() - t0;

  return {
    child,
    url,
    listeningMs,
    exited,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      const s0 = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const exit = await exited;
      return { ...exit, ms: performance.now() - s0 };
    },
  };
}
