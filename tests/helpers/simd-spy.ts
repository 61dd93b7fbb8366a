/** Proof that a kernel took its fast path: the functions of its SIMD module (or native addon) it called, counted. */

type FunctionName<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T];

/**
 * Runs `fn` with the named functions of `ops` wrapped in counters (they still run),
 * then puts them back and returns how often each was called.
 */
export async function countSimdCalls<T extends object, K extends FunctionName<T>>(
  ops: T,
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
