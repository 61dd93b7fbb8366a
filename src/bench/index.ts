/**
 * npm run bench [-- SECTION... ] [--json] [--quick] [--set key=value ...]
 *
 * Runs the named sections (default: all) of src/bench/sections/, prints a
 * table per section, or with --json ONE JSON object on stdout:
 *   {"machine": {...}, "sections": {"<name>": {"title", "figures": {"<id>":
 *    {"label", "value", "unit", "note"?}}, "notes": [...], "seconds"}}}
 * Progress goes to stderr. Adding a section = adding one file to sections/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { runCli } from '../cli/run.js';
import { formatSection, machineInfo, type BenchContext, type BenchSection, type SectionResult } from './framework.js';

const SECTIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sections');

/** Every section module in sections/ (one file each, default export), sorted by name. */
export async function discoverSections(dir = SECTIONS_DIR): Promise<BenchSection[]> {
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const sections: BenchSection[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { default?: BenchSection };
    const s = mod.default;
    if (!s || typeof s.run !== 'function' || typeof s.name !== 'string') {
      throw new Error(`${path.join(dir, f)}: the default export is not a bench section ({ name, title, run })`);
    }
    sections.push(s);
  }
  return sections;
}

interface Opts {
  json?: boolean;
  quick?: boolean;
  set: string[];
  list?: boolean;
}

async function main(names: string[], o: Opts): Promise<void> {
  const all = await discoverSections();
  if (o.list) {
    for (const s of all) console.log(`${s.name.padEnd(16)} ${s.title}`);
    return;
  }
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}; sections: ${all.map((s) => s.name).join(', ')}`);
  const chosen = names.length ? all.filter((s) => names.includes(s.name)) : all;
  const options = Object.fromEntries(
    o.set.map((kv) => {
      const i = kv.indexOf('=');
      if (i < 1) throw new Error(`--set expects key=value, got "${kv}"`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const ctx: BenchContext = { log, quick: !!o.quick, options };
  const machine = machineInfo();
  const loadNote = machine.background_training.length
    ? `${machine.background_training.length} training run(s) in the background on ${machine.cpus} cores (load ${machine.loadavg.join(' ')}): every figure is depressed accordingly`
    : `load ${machine.loadavg.join(' ')} on ${machine.cpus} cores`;
  if (!o.json) console.log(`ekspresi bench: node ${machine.node}, ${machine.cpus} x ${machine.cpu_model}\n${loadNote}\n`);

  const out: Record<string, unknown> = {};
  for (const section of chosen) {
    log(`[bench] ${section.name}: ${section.title}`);
    const t0 = Date.now();
    let result: SectionResult;
    try {
      result = await section.run(ctx);
    } catch (e) {
      // One failing section must not lose the others' figures.
      result = { figures: [], notes: [`failed: ${(e as Error).message}`] };
      log(`[bench] ${section.name} failed: ${(e as Error).stack ?? e}`);
    }
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    out[section.name] = {
      title: section.title,
      figures: Object.fromEntries(
        result.figures.map((f) => [f.id, { label: f.label, value: f.value, unit: f.unit, ...(f.note ? { note: f.note } : {}) }]),
      ),
      notes: result.notes ?? [],
      seconds,
    };
    if (!o.json) console.log(`${formatSection(section, result)}\n  (${seconds} s)\n`);
  }
  const after = machineInfo();
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        machine: { ...machine, loadavg_after: after.loadavg, note: loadNote },
        sections: out,
      }) + '\n',
    );
  }
}

const program = new Command('bench')
  .description('Performance figures: one section per file in src/bench/sections/ (default: all sections).')
  .argument('[sections...]', 'sections to run (see --list)')
  .option('--json', 'print ONE JSON object on stdout (progress on stderr)')
  .option('--quick', 'fewer repetitions (a smoke run, noisier figures)')
  .option(
    '--set <key=value>',
    'a section option, e.g. --set cpu_batch=16 (repeatable)',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option('--list', 'list the sections and exit')
  .action(main);

await runCli(program);
