/**
 * The benchmark's small framework: what a section is, how a figure is
 * reported, timing helpers, and the machine context (cores, load, training
 * runs in the background) printed with every result.
 *
 * A section is one file in src/bench/sections/ whose default export is a
 * `BenchSection`; `npm run bench` finds it there by itself.
 */
import fs from 'node:fs';
import os from 'node:os';

/** One measured number (or a measurement that could not be taken: null + note). */
export interface Figure {
  /** Stable key for the JSON output, e.g. "cnn_wasm_images_per_s". */
  id: string;
  /** What a person reads in the table. */
  label: string;
  value: number | null;
  unit: string;
  note?: string;
}

export interface SectionResult {
  figures: Figure[];
  /** Remarks printed under the section's table and kept in the JSON. */
  notes?: string[];
}

export interface BenchContext {
  /** Progress messages (stderr, so `--json` keeps stdout to one object). */
  log: (message: string) => void;
  /** `--quick`: fewer repetitions, for a smoke run. */
  quick: boolean;
  /** Free-form `--set key=value` options a section may read. */
  options: Record<string, string>;
}

export interface BenchSection {
  /** Command-line name, e.g. "training". */
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

/** Milliseconds of one call of `fn` (awaited). */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Runs `fn` `warmup` times untimed, then `reps` times, and returns the median
 * time in ms (the median shrugs off a hiccup of the background load).
 */
export async function timeMedian(fn: () => unknown, reps: number, warmup = 1): Promise<{ median: number; times: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await timeOnce(fn));
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, times };
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** The `p` quantile (0-1) of values already sorted ascending, by the nearest-rank method. */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Percentiles of `times` (ms) by the nearest-rank method, to 0.1 ms. */
export function latency(times: number[]): Latency {
  if (times.length === 0) return { p50: NaN, p90: NaN, p99: NaN, mean: NaN, max: NaN };
  const s = Float64Array.from(times).sort();
  const q = (p: number) => nearestRank(s, p);
  let sum = 0;
  for (const t of s) sum += t;
  return { p50: round1(q(0.5)), p90: round1(q(0.9)), p99: round1(q(0.99)), mean: round1(sum / s.length), max: round1(s[s.length - 1]) };
}

/** `timeMedian`'s runs as percentiles (p50/p99 of `reps` calls after `warmup` untimed ones). */
export async function timeLatency(fn: () => unknown, reps: number, warmup = 1): Promise<Latency> {
  return latency((await timeMedian(fn, reps, warmup)).times);
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  node: string;
  platform: string;
  loadavg: number[];
  /** Other processes training models right now (their figures depress ours). */
  background_training: string[];
}

/** Command lines of other running `train` processes (Linux /proc; empty elsewhere). */
function backgroundTraining(): string[] {
  const found: string[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    // The node process that runs the trainer (not the npm, sh and tsx wrappers around it).
    if (/^\S*node\s/.test(cmd) && !/\.bin\/tsx\s/.test(cmd) && /src\/cli\/train\.ts/.test(cmd)) {
      found.push(`pid ${pid}: ${cmd.replace(/^.*src\/cli\/train\.ts/, 'train')}`);
    }
  }
  return found;
}

export function machineInfo(): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    background_training: backgroundTraining(),
  };
}

/** Formats a number for the table: 3 significant digits, thousands kept whole. */
export function formatValue(v: number | null): string {
  if (v === null) return '-';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** A plain-text table of one section's figures. */
export function formatSection(section: BenchSection, result: SectionResult): string {
  const rows = result.figures.map((f) => [f.label, formatValue(f.value), f.unit, f.note ?? '']);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), 0));
  const lines = [`== ${section.title} (${section.name})`];
  for (const r of rows) {
    lines.push(`  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])} ${r[2].padEnd(widths[2])}${r[3] ? `  ${r[3]}` : ''}`.trimEnd());
  }
  for (const n of result.notes ?? []) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
