/**
 * A run's validation accuracy after each epoch, from wherever it is kept: a running or stopped run's
 * checkpoint (state.json) or a finished model folder's card. Set beside a reference (a shipped model's
 * card), it tells whether a rerun or a trial is on the shipped model's track at the same epoch, while it
 * still trains: the comparison the recipes here were chosen by.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseCard, type HistoryEntry } from '../artifacts/card.js';
import { checkpointDir } from './checkpoint.js';

export interface RunHistory {
  /** What the run is called in a table: its folder as given. */
  name: string;
  /** Where the history was read. */
  source: string;
  history: HistoryEntry[];
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: not readable JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The places a history may be, in the order they are tried: a checkpoint, a run folder, a model folder. */
function candidates(dir: string): string[] {
  return [path.join(dir, 'state.json'), path.join(checkpointDir(dir), 'state.json'), path.join(dir, 'card.json')];
}

/**
 * The history kept in `dir`: a checkpoint folder (state.json), a run folder (runs/<name>: its checkpoint),
 * a model folder (card.json), or a folder holding one run folder (a --runs folder with one run in it).
 */
export async function readRunHistory(dir: string): Promise<RunHistory> {
  const children = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new Error(e.code === 'ENOENT' ? `${dir}: no such folder` : `${dir}: ${e.message}`);
  });
  const tried = candidates(dir);
  for (const file of tried) {
    const raw = await readJson(file);
    if (raw !== undefined) return { name: dir, source: file, history: historyOf(raw, file) };
  }
  const found: { file: string; raw: unknown }[] = [];
  for (const c of children.filter((c) => c.isDirectory())) {
    const file = path.join(checkpointDir(path.join(dir, c.name)), 'state.json');
    const raw = await readJson(file);
    if (raw !== undefined) found.push({ file, raw });
  }
  if (found.length === 1) return { name: dir, source: found[0].file, history: historyOf(found[0].raw, found[0].file) };
  if (found.length > 1)
    throw new Error(
      `${dir}: holds ${found.length} runs; name one of them (${found.map((f) => path.dirname(path.dirname(f.file))).join(', ')})`,
    );
  throw new Error(
    `${dir}: no training history here (looked for ${tried.map((f) => path.relative(dir, f)).join(', ')} and <run>/checkpoint/state.json)`,
  );
}

function historyOf(raw: unknown, file: string): HistoryEntry[] {
  if (path.basename(file) === 'card.json') return parseCard(raw).history;
  const history = (raw as { history?: unknown }).history;
  if (!Array.isArray(history) || history.some((e) => typeof e?.epoch !== 'number' || typeof e?.val_acc !== 'number')) {
    throw new Error(`${file}: "history" is not a list of epochs with val_acc`);
  }
  return history as HistoryEntry[];
}

/** Validation accuracy by epoch. */
const byEpoch = (h: HistoryEntry[]) => new Map(h.map((e) => [e.epoch, e.val_acc]));

/** One row per epoch any run reached: each run's accuracy (percent), with its difference from the reference's when there is one. */
export function historyTable(runs: RunHistory[], against?: RunHistory): string[][] {
  const maps = runs.map((r) => byEpoch(r.history));
  const ref = against ? byEpoch(against.history) : undefined;
  const last = Math.max(0, ...runs.map((r) => Math.max(0, ...r.history.map((e) => e.epoch))));
  const pct = (v: number) => (v * 100).toFixed(2);
  const header = ['epoch', ...runs.map((r) => r.name), ...(against ? [against.name] : [])];
  const rows = [header];
  for (let epoch = 1; epoch <= last; epoch++) {
    const refAcc = ref?.get(epoch);
    const cells = maps.map((m) => {
      const v = m.get(epoch);
      if (v === undefined) return '-';
      if (refAcc === undefined) return pct(v);
      const d = (v - refAcc) * 100;
      return `${pct(v)} (${d >= 0 ? '+' : ''}${d.toFixed(2)})`;
    });
    rows.push([String(epoch), ...cells, ...(against ? [refAcc === undefined ? '-' : pct(refAcc)] : [])]);
  }
  return rows;
}
