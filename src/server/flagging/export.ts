/**
 * Flagged faces -> a FER2013-format CSV (`emotion,pixels,Usage`), the format
 * `npm run train -- --data` reads: the people's corrections go back into
 * training. Every row gets the same Usage (Training by default).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { LABELS, type Usage } from '../../types.js';
import type { FlagStore } from './store.js';

export interface ExportResult {
  rows: number;
  skipped: string[];
}

/** One CSV line per flag; a flag whose crop file is gone is skipped and named. */
export async function* csvLines(store: FlagStore, usage: Usage, skipped: string[] = []): AsyncGenerator<string> {
  yield 'emotion,pixels,Usage\n';
  for (const flag of store.all()) {
    let pixels: Uint8Array;
    try {
      pixels = await store.readCrop(flag.crop);
    } catch (e) {
      skipped.push(`flag ${flag.id}: crop ${flag.crop} cannot be read (${(e as Error).message})`);
      continue;
    }
    yield `${LABELS.indexOf(flag.label)},${Array.from(pixels).join(' ')},${usage}\n`;
  }
}

/** Writes the CSV to `out` through a temporary file, so a reader never sees half of it. */
export async function exportCsv(store: FlagStore, out: string, usage: Usage = 'Training'): Promise<ExportResult> {
  const target = path.resolve(out);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}`);
  const skipped: string[] = [];
  let rows = -1; // the header is not a row
  const stream = fs.createWriteStream(tmp);
  try {
    for await (const line of csvLines(store, usage, skipped)) {
      rows++;
      if (!stream.write(line)) await new Promise<void>((r) => stream.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    await fsp.rename(tmp, target);
  } catch (e) {
    stream.destroy();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return { rows, skipped };
}
