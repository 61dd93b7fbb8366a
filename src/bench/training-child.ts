/**
 * One training-step measurement in a fresh process, for the `training` bench
 * section: a process holds one wasm backend, so single-threaded and threaded
 * steps are compared across processes run alternately. Prints ONE JSON line:
 * {"threads", "native", "ms", "kernels"?}. Arguments: a JSON object
 * {"model": case id, "threads": n, "batch": n, "steps": n, "profile": bool}.
 */
import { initBackend, wasmThreads } from '../tf/backend.js';
import { nativeKernelsCore } from '../tf/native-kernels.js';
import { installKernelTimer } from '../tf/kernel-timer.js';
import { ALL_CASES, stepMs } from './sections/training.js';

interface Args {
  model: string;
  threads: number;
  batch: number;
  steps: number;
  profile?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const c = ALL_CASES.find((m) => m.id === args.model);
if (!c) throw new Error(`unknown model case ${args.model}`);
await initBackend('wasm', undefined, { threads: args.threads });
const ms = await stepMs(c, args.batch, args.steps, 1);
let kernels: Array<{ name: string; calls: number; ms: number }> | undefined;
if (args.profile) {
  // One more step under the kernel timer: per-kernel shares (top-level calls; nested ones count towards them).
  const timer = installKernelTimer('wasm');
  const wall = await stepMs(c, args.batch, 1, 0, (phase) => timer.setPhase(phase));
  kernels = timer.read().map((k) => ({ ...k, ms: Math.round(k.ms * 10) / 10 }));
  kernels.push({ name: '(step wall time)', calls: 1, ms: Math.round(wall * 10) / 10 });
  timer.uninstall();
}
process.stdout.write(JSON.stringify({ threads: wasmThreads(), native: nativeKernelsCore(), ms, ...(kernels ? { kernels } : {}) }) + '\n');
process.exit(0);
