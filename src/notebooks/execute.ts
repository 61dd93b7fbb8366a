/**
 * Executes a notebook with tslab (src/notebooks/kernel.cjs, one fresh kernel
 * process per notebook, started in the notebook's folder as Jupyter does) and
 * turns what the kernel sent into the outputs a Jupyter client stores in the
 * .ipynb: merged `stream` outputs, `display_data`, `execution_count`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const KERNEL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel.cjs');

type MultilineString = string | string[];
export interface StreamOutput { output_type: 'stream'; name: 'stdout' | 'stderr'; text: MultilineString }
export interface DisplayOutput { output_type: 'display_data'; data: Record<string, MultilineString>; metadata: Record<string, unknown> }
export type Output = StreamOutput | DisplayOutput;
export interface Cell {
  cell_type: string; id?: string; metadata?: Record<string, unknown>; source: MultilineString;
  outputs?: Output[]; execution_count?: number | null;
}
export interface Notebook { nbformat: number; nbformat_minor?: number; metadata: { kernelspec?: { name?: string } } & Record<string, unknown>; cells: Cell[] }

interface KernelOutput { output_type: 'stream' | 'display_data'; name?: 'stdout' | 'stderr'; text?: string; data?: Record<string, string>; metadata?: Record<string, unknown> }
interface KernelCell { index: number; execution_count: number | null; ok: boolean; outputs: KernelOutput[] }
export interface Execution {
  /** The notebook with every code cell's outputs and execution count as the kernel produced them. */
  notebook: Notebook;
  /** Index (in `cells`) of the cell that failed, or null when every code cell ran. */
  failed: number | null;
  /** What the failing cell printed on stderr (type errors, the exception), for the error message. */
  error: string;
  seconds: number;
}

export const cellText = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);
export const readNotebook = (file: string): Notebook => JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;

/** Text split into lines that keep their '\n', as Jupyter stores multi-line strings. */
export function toLines(s: string): string[] {
  return s.split(/(?<=\n)/).filter((l) => l.length > 0);
}

/** Kernel messages to stored outputs: consecutive writes to one stream become one output. */
export function storedOutputs(outputs: KernelOutput[]): Output[] {
  const stored: Output[] = [];
  const texts: string[] = [];
  for (const o of outputs) {
    if (o.output_type === 'stream') {
      const last = stored.at(-1);
      if (last?.output_type === 'stream' && last.name === o.name) texts[texts.length - 1] += o.text ?? '';
      else { stored.push({ output_type: 'stream', name: o.name ?? 'stdout', text: '' }); texts.push(o.text ?? ''); }
    } else {
      const data: Record<string, MultilineString> = {};
      // Binary types are one base64 string; text types are stored as lines.
      for (const [type, value] of Object.entries(o.data ?? {})) data[type] = /^(text\/|image\/svg)/.test(type) ? toLines(value) : value;
      stored.push({ output_type: 'display_data', data, metadata: o.metadata ?? {} });
      texts.push('');
    }
  }
  stored.forEach((o, i) => { if (o.output_type === 'stream') o.text = toLines(texts[i]); });
  return stored;
}

/** The notebook without outputs (how it is committed when no real run has been done). */
export function clearedNotebook(nb: Notebook): Notebook {
  return { ...nb, cells: nb.cells.map((c) => (c.cell_type === 'code' ? { ...c, outputs: [], execution_count: null } : c)) };
}

/** Runs every code cell in order with tslab; stops at the first failing cell, as "Run all" does. */
export async function executeNotebook(file: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Execution> {
  const nb = readNotebook(file);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-kernel-'));
  const resultFile = path.join(tmp, 'result.json');
  const t0 = Date.now();
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [KERNEL, path.resolve(file), resultFile], {
        cwd: path.dirname(path.resolve(file)), env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-20_000); });
      const timer = options.timeoutMs ? setTimeout(() => { child.kill('SIGKILL'); }, options.timeoutMs) : null;
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: signal ? null : code, stderr: signal ? `${stderr}\nkilled (${signal}) after ${options.timeoutMs} ms` : stderr });
      });
    });
    if (code !== 0 || !fs.existsSync(resultFile)) throw new Error(`the tslab kernel for ${path.basename(file)} stopped (exit ${code}): ${stderr.trim().slice(-3000)}`);
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { cells: KernelCell[]; failed: number | null };
    const byIndex = new Map(result.cells.map((c) => [c.index, c]));
    const notebook = clearedNotebook(nb);
    notebook.cells = notebook.cells.map((c, i) => {
      const run = byIndex.get(i);
      return run ? { ...c, outputs: storedOutputs(run.outputs), execution_count: run.execution_count } : c;
    });
    const failedCell = result.failed === null ? undefined : byIndex.get(result.failed);
    const error = failedCell ? failedCell.outputs.filter((o) => o.name === 'stderr').map((o) => o.text).join('') : '';
    return { notebook, failed: result.failed, error, seconds: (Date.now() - t0) / 1000 };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every output of a notebook as text (stream text and every MIME value), for checks. */
export function outputTexts(nb: Notebook): Array<{ cell: number; text: string }> {
  const out: Array<{ cell: number; text: string }> = [];
  nb.cells.forEach((c, cell) => {
    for (const o of c.outputs ?? []) {
      const parts = o.output_type === 'stream' ? [o.text] : Object.values(o.data);
      for (const p of parts) out.push({ cell, text: Array.isArray(p) ? p.join('') : p });
    }
  });
  return out;
}

/** The local paths (of the given ones) that appear in a notebook's outputs: outputs must show file names only. */
export function localPathsIn(nb: Notebook, paths: string[]): Array<{ cell: number; path: string }> {
  const wanted = [...new Set(paths.map((p) => p.replace(/\/+$/, '')).filter((p) => p.length > 1))];
  const found: Array<{ cell: number; path: string }> = [];
  for (const { cell, text } of outputTexts(nb)) {
    for (const p of wanted) if (text.includes(p)) found.push({ cell, path: p });
  }
  return found;
}

/** JSON as Jupyter writes a notebook: keys sorted, one-space indent, final newline. */
export function serialiseNotebook(nb: Notebook): string {
  const sortKeys = (_k: string, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v);
  return JSON.stringify(nb, sortKeys, 1) + '\n';
}

/** Bytes of a notebook's outputs (what executing it adds to the file). */
export function outputBytes(nb: Notebook): number {
  return nb.cells.reduce((n, c) => n + (c.outputs?.length ? Buffer.byteLength(JSON.stringify(c.outputs)) : 0), 0);
}
