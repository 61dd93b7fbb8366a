/**
 * A bounded number of predictions at once and a bounded wait queue in front
 * of them. TF.js on two cores gains nothing from twenty photos at a time; it
 * only makes every one of them slow and the memory grow. A request beyond the
 * queue gets 503 with Retry-After (estimated from recent run times) at once,
 * before its upload is read, and a request that waited too long gets the same.
 */
import type { MiddlewareHandler } from 'hono';
import { HttpError } from '../errors.js';
import { uiLocals } from '../request-context.js';

export interface QueueOptions {
  /** Predictions running at the same time. */
  concurrency: number;
  /** Requests allowed to wait for a free place; more get 503. */
  maxWaiting: number;
  /** Longest wait for a place before giving up with 503 (ms). */
  maxWaitMs: number;
}

export const DEFAULT_QUEUE: QueueOptions = { concurrency: 2, maxWaiting: 16, maxWaitMs: 60_000 };

export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the prediction queue is full');
    this.name = 'QueueFullError';
  }
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Recent run times in ms, for the Retry-After estimate. */
  private readonly recent: number[] = [];

  constructor(readonly options: QueueOptions) {}

  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Seconds until a place is likely free: queue length x typical run time / places. */
  retryAfter(): number {
    const typical = this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : 1000;
    const ahead = this.waiting.length + this.active;
    return Math.max(1, Math.ceil((ahead * typical) / this.options.concurrency / 1000));
  }

  /** Runs `fn` when a place is free; throws QueueFullError when the queue is full or the wait too long. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.options.concurrency) await this.wait();
    else this.active++;
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.recent.push(performance.now() - t0);
      if (this.recent.length > 20) this.recent.shift();
      this.release();
    }
  }

  private wait(): Promise<void> {
    if (this.waiting.length >= this.options.maxWaiting) return Promise.reject(new QueueFullError(this.retryAfter()));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        // The place is handed over directly: `active` stays counted.
        start: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new QueueFullError(this.retryAfter()));
        }, this.options.maxWaitMs),
      };
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.active--;
  }
}

/** Puts each request through the queue; a full queue answers 503 + Retry-After. */
export function queueMiddleware(queue: WorkQueue): MiddlewareHandler {
  return async (c, next) => {
    try {
      await queue.run(() => next());
    } catch (e) {
      if (!(e instanceof QueueFullError)) throw e;
      c.header('Retry-After', String(e.retryAfterSeconds));
      throw new HttpError(503, uiLocals().t('limit.busy', { seconds: e.retryAfterSeconds }));
    }
  };
}
