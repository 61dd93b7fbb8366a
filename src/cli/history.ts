/**
 * npm run history -- DIR [DIR ...] [--against models/NAME] [--json]
 * Each run's validation accuracy after every epoch (training/run-history.ts), side by side, with its
 * difference from a reference model's at the same epoch: is a rerun on the shipped model's track?
 */
import { Command } from 'commander';
import { historyTable, readRunHistory } from '../training/run-history.js';
import { runCli } from './run.js';

const program = new Command('history')
  .description("Print runs' validation accuracy after every epoch, beside a reference model's, while they train or after.")
  .argument(
    '<dir...>',
    'a run folder (runs/<name>), its checkpoint folder, a --runs folder holding one run, or a model folder (models/<name>)',
  )
  .option('--against <dir>', "a model or run to compare with, epoch by epoch (e.g. models/custom-cnn: the shipped run's history)")
  .option('--json', 'print one JSON object')
  .action(main);

async function main(dirs: string[], o: { against?: string; json?: boolean }): Promise<void> {
  const runs = await Promise.all(dirs.map(readRunHistory));
  const against = o.against ? await readRunHistory(o.against) : undefined;
  if (o.json) {
    const brief = (r: (typeof runs)[number]) => ({
      name: r.name,
      source: r.source,
      history: r.history.map((e) => ({ epoch: e.epoch, val_acc: e.val_acc })),
    });
    console.log(JSON.stringify({ runs: runs.map(brief), ...(against ? { against: brief(against) } : {}) }, null, 1));
    return;
  }
  const rows = historyTable(runs, against);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c])).join('  '));
  console.log(
    `validation accuracy (%) after each epoch${against ? `; in brackets: the difference from ${against.name} at the same epoch` : ''}`,
  );
}

await runCli(program);
