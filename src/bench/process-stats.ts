/**
 * What a long-running server must not accumulate: resident memory, TF.js
 * tensors and open file handles. Read for this process (the server runs in
 * it) or for another one by pid (Linux /proc; null where there is none).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { tf } from '../tf/backend.js';

export interface ProcessStats {
  rssMb: number;
  /** Live TF.js tensors in this process. */
  tensors: number;
  /** Open file descriptors, or null without /proc. */
  fds: number | null;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function openFds(pid: number | 'self' = 'self'): number | null {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Resident set size of another process in MB (VmRSS), or null. */
export function rssOfPid(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

let gcFn: (() => void) | null = null;

/** A full garbage collection, so RSS is not garbage waiting to be collected (exposes gc at run time if needed). */
export function collectGarbage(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/** This process, right after a full garbage collection. */
export function processStats(): ProcessStats {
  collectGarbage();
  return { rssMb: mb(process.memoryUsage().rss), tensors: tf.memory().numTensors, fds: openFds() };
}
