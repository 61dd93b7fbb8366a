/**
 * A per-kernel profile of whatever runs on one backend: every registered
 * kernel is wrapped so that the outermost kernel call is timed (its nested
 * calls, e.g. the forward convs inside our gradient kernels, count towards it,
 * not twice), keyed by kernel name. tf.profile lists nested kernels as well,
 * so its sums double-count; wrapping gives shares that add up to the kernel
 * time, and the rest of a step (tape bookkeeping, JS between kernels) is the
 * difference to the wall time.
 *
 * Kernels run synchronously on wasm and cpu, so the wall time around a call is
 * its cost. Install, run, read, uninstall: the wrappers cost ~1 us a call.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
}

export interface KernelTimer {
  /** Later calls are keyed `phase/kernel` (e.g. the optimizer's update apart from the gradients); null: the kernel alone. */
  setPhase(phase: string | null): void;
  /** Totals since install or the last reset, largest first. */
  read(): KernelTime[];
  reset(): void;
  /** Puts the original kernels back. */
  uninstall(): void;
}

/** `kernel[shape,shape]`: a kernel's calls told apart by their input shapes. */
function withShapes(name: string, inputs: tf.NamedTensorInfoMap): string {
  const shapes = Object.values(inputs).map((t) => (t ? t.shape.join('x') : '-'));
  return `${name}[${shapes.join(',')}]`;
}

/**
 * Wraps every kernel of `backendName` (see above); `byShape` keys calls by their input shapes too.
 * Only one timer per backend at a time.
 */
export function installKernelTimer(backendName: string, byShape = false): KernelTimer {
  const originals = tf.getKernelsForBackend(backendName);
  const totals = new Map<string, { calls: number; ms: number }>();
  let depth = 0;
  let phase: string | null = null;
  for (const k of originals) {
    const inner = k.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      if (depth > 0) return inner(args);
      depth++;
      const t0 = performance.now();
      try {
        return inner(args);
      } finally {
        const ms = performance.now() - t0;
        depth--;
        const name = byShape ? withShapes(k.kernelName, args.inputs) : k.kernelName;
        const key = phase ? `${phase}/${name}` : name;
        const t = totals.get(key) ?? { calls: 0, ms: 0 };
        t.calls++;
        t.ms += ms;
        totals.set(key, t);
      }
    };
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({ ...k, kernelFunc });
  }
  return {
    setPhase: (p) => {
      phase = p;
    },
    read: () => [...totals].map(([name, t]) => ({ name, ...t })).sort((a, b) => b.ms - a.ms),
    reset: () => totals.clear(),
    uninstall: () => {
      for (const k of originals) {
        tf.unregisterKernel(k.kernelName, backendName);
        tf.registerKernel(k);
      }
    },
  };
}
