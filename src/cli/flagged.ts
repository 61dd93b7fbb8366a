/**
 * npm run flagged -- export --out FILE [--data-dir DIR] [--usage Training]
 * npm run flagged -- list [--data-dir DIR] [--json]
 *
 * The faces people flagged in the demo. `export` writes them as a FER2013 CSV
 * (`emotion,pixels,Usage`) that `npm run train -- --data FILE` accepts.
 */
import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { exportCsv } from '../server/flagging/export.js';
import { FlagStore } from '../server/flagging/store.js';
import { USAGES, type Usage } from '../types.js';
import { runCli } from './run.js';

/** Opens the store only if there is one: a mistyped --data-dir should not create an empty database. */
function openExisting(dataDir: string): FlagStore {
  const db = path.join(path.resolve(dataDir), 'flagged', 'flags.sqlite');
  if (!fs.existsSync(db))
    throw new Error(`no flagged faces in ${path.resolve(dataDir)} (expected ${db}); is --data-dir the one the server used?`);
  return FlagStore.open(dataDir);
}

const program = new Command('flagged').description(
  'Faces flagged as wrong in the demo: list them, or export them as FER2013 CSV for training.',
);

program
  .command('export')
  .description('write the flagged faces as a FER2013 CSV (emotion,pixels,Usage)')
  .requiredOption('--out <file>', 'the CSV to write')
  .option('--data-dir <dir>', "the server's data folder", 'data')
  .addOption(new Option('--usage <usage>', 'the Usage column of every row').choices([...USAGES]).default('Training'))
  .action(async (o: { out: string; dataDir: string; usage: Usage }) => {
    const store = openExisting(o.dataDir);
    try {
      const { rows, skipped } = await exportCsv(store, o.out, o.usage);
      for (const s of skipped) console.error(`warning: skipped ${s}`);
      console.log(`Wrote ${rows} flagged face${rows === 1 ? '' : 's'} to ${path.resolve(o.out)}.`);
      if (rows > 0) console.log(`Train on them: npm run train -- --data ${o.out}`);
    } finally {
      store.close();
    }
  });

program
  .command('list')
  .description('show what has been flagged')
  .option('--data-dir <dir>', "the server's data folder", 'data')
  .option('--json', 'one JSON object per line')
  .action((o: { dataDir: string; json?: boolean }) => {
    const store = openExisting(o.dataDir);
    try {
      for (const f of store.all()) {
        if (o.json) console.log(JSON.stringify(f));
        else console.log(`${f.id}\t${f.created}\t${f.model}\t${f.predicted} -> ${f.label}\t${f.note}`);
      }
      if (!o.json) console.log(`${store.count()} flagged.`);
    } finally {
      store.close();
    }
  });

await runCli(program);
