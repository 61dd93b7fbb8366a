/** Which FER2013 rows the evaluation commands score: the default --usage, and the rows of one usage. */
import type { Usage } from '../types.js';
import type { DataSet, Split } from '../training/dataset.js';

/** PrivateTest if present, else PublicTest, else the only split there is. */
export function defaultUsage(available: Usage[]): Usage {
  for (const u of ['PrivateTest', 'PublicTest'] as const) if (available.includes(u)) return u;
  if (available.length === 0) throw new Error('the data has no rows');
  return available[0];
}

/** The `usage` rows of data loaded from `dataPath`; an error naming the file and the splits it has when there are none. */
export function splitOf(data: DataSet, usage: Usage, dataPath: string): Split {
  const split = data.get(usage);
  if (!split || split.size === 0) throw new Error(`${dataPath} has no ${usage} rows (it has: ${[...data.keys()].join(', ') || 'none'})`);
  return split;
}
