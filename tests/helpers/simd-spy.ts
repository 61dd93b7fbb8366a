/** Proof that a kernel took its SIMD fast path: the SimdOps functions it called, counted. */
import type { SimdOps } from '../../src/tf/wasm-simd.js';

type OpName = {
  [K in keyof SimdOps]: SimdOps[K] extends (...args: never[]) => unknown ? K : never;
}[keyof SimdOps];

/**
 * Runs `fn` with the named SimdOps functions wrapped in counters (they still run),
 * then puts them back and returns how often each was called.
 */
export async function countSimdCalls<K extends OpName>(
  ops: SimdOps,
  names: readonly K[],
  fn: () => Promise<void>,
): Promise<Record<K, number>> {
  const counts = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const originals = names.map((name) => [name, ops[name]] as const);
  for (const [name, original] of originals) {
    const f = original as (...args: unknown[]) => unknown;
    (ops as unknown as Record<K, unknown>)[name] = (...args: unknown[]) => {
      counts[name]++;
      return f(...args);
    };
  }
  try {
    await fn();
  } finally {
    for (const [name, original] of originals) (ops as unknown as Record<K, unknown>)[name] = original;
  }
  return counts;
}
