/** Which FER2013 rows `evaluate` and `compare` score when --usage is not given. */
import type { Usage } from '../types.js';

/** PrivateTest if present, else PublicTest, else the only split there is. */
export function defaultUsage(available: Usage[]): Usage {
  for (const u of ['PrivateTest', 'PublicTest'] as const) if (available.includes(u)) return u;
  if (available.length === 0) throw new Error('the data has no rows');
  return available[0];
}
