/**
 * One load run against a URL with autocannon (programmatic API): N clients,
 * each sending its next request as soon as the last one is answered, for a
 * duration or a number of requests. Latency percentiles come from every
 * response's own time (autocannon's histogram rounds to whole milliseconds
 * and leaves out non-2xx answers), and every status code is counted.
 */
import autocannon from 'autocannon';
import { latency, type Latency } from './framework.js';

export interface LoadOptions {
  url: string;
  /** Concurrent clients (connections). */
  clients: number;
  /** Seconds to run; ignored when `requests` is given. */
  seconds?: number;
  /** Stop after this many requests. */
  requests?: number;
  method?: 'GET' | 'POST';
  body?: Buffer;
  headers?: Record<string, string>;
  /** Mixed traffic: each client cycles through these instead (paths relative to `url`'s origin). */
  mix?: Array<{ path: string; method?: 'GET' | 'POST'; body?: Buffer; headers?: Record<string, string> }>;
  /** Seconds before one request counts as timed out. */
  timeoutS?: number;
}

export interface LoadResult extends Latency {
  clients: number;
  seconds: number;
  requests: number;
  /** Answered requests per second of wall time. */
  rps: number;
  /** Answers by status code. */
  status: Record<string, number>;
  /** Connection errors and timeouts (no answer at all). */
  errors: number;
  timeouts: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const times: number[] = [];
  const status: Record<string, number> = {};
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'POST',
        body: options.body,
        headers: options.headers,
        ...(options.mix ? { requests: options.mix.map((r) => ({ method: options.method ?? 'POST', ...r })) } : {}),
        connections: options.clients,
        pipelining: 1,
        ...(options.requests ? { amount: options.requests } : { duration: options.seconds ?? 10 }),
        timeout: options.timeoutS ?? 60,
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const answered = Object.values(status).reduce((a, b) => a + b, 0);
        resolve({
          clients: options.clients,
          seconds: round1(result.duration),
          requests: answered,
          rps: round1(answered / Math.max(result.duration, 1e-9)),
          ...latency(times),
          status,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      times.push(responseTime);
      status[statusCode] = (status[statusCode] ?? 0) + 1;
    });
  });
}
