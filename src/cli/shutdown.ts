/**
 * SIGTERM / SIGINT for a long-running command: run the shutdown steps once
 * (for the server: stop listening, let requests in flight finish, free the
 * models), then exit 0. Bounded: the process is gone shortly after the grace
 * period even if a step hangs, and a second signal exits at once.
 */

export const DEFAULT_SHUTDOWN_GRACE_S = 10;

/** Extra time after the grace period for the steps that follow the drain. */
const HARD_STOP_EXTRA_MS = 5_000;

export interface ShutdownOptions {
  /** How long requests in flight may take to finish. */
  graceMs: number;
  log: (msg: string) => void;
}

export function exitOnSignals(steps: (graceMs: number) => Promise<void>, options: ShutdownOptions): void {
  const { graceMs, log } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: stopping now without waiting.`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: finishing the requests in progress (at most ${Math.round(graceMs / 100) / 10} s), then stopping.`);
    setTimeout(() => {
      log('Shutdown took too long: stopping now.');
      process.exit(1);
    }, graceMs + HARD_STOP_EXTRA_MS).unref();
    steps(graceMs).then(
      () => process.exit(0),
      (e: unknown) => {
        log(`Shutdown failed: ${(e as Error)?.message ?? String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
