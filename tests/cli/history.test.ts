/**
 * npm run history: a run's validation accuracy per epoch, read from a checkpoint, a run folder, a --runs
 * folder holding one run, or a model folder's card, beside a reference's with the difference per epoch;
 * a folder without a history is one readable error line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readRunHistory } from '../../src/training/run-history.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { testCard } from '../helpers/models.js';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/history.ts', ...args], { cwd: PROJECT_ROOT });

let dir: string;
const epochs = (accs: number[]) => accs.map((val_acc, i) => ({ epoch: i + 1, loss: 1, acc: 0.5, val_loss: 1, val_acc, lr: 1e-3 }));

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-history-'));
  // A shipped model's card with four epochs, and a run (its checkpoint) three epochs in.
  await fs.mkdir(path.join(dir, 'models', 'shipped'), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'models', 'shipped', 'card.json'),
    JSON.stringify(testCard('shipped', 0.6, { history: epochs([0.4, 0.5, 0.55, 0.6]) })),
  );
  await fs.mkdir(path.join(dir, 'runs', 'trial', 'checkpoint'), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'runs', 'trial', 'checkpoint', 'state.json'),
    JSON.stringify({ epoch: 3, history: epochs([0.41, 0.52, 0.54]) }),
  );
  await fs.mkdir(path.join(dir, 'empty'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

test('a run folder, its checkpoint, the --runs folder holding it and a model folder are all read', async () => {
  const trial = path.join(dir, 'runs', 'trial');
  for (const d of [trial, path.join(trial, 'checkpoint'), path.join(dir, 'runs')]) {
    const h = await readRunHistory(d);
    assert.deepEqual(
      h.history.map((e) => e.val_acc),
      [0.41, 0.52, 0.54],
      d,
    );
    assert.equal(h.source, path.join(trial, 'checkpoint', 'state.json'));
  }
  assert.equal((await readRunHistory(path.join(dir, 'models', 'shipped'))).history.length, 4);
});

test('the table: each epoch the run reached, with its difference from the reference', async () => {
  const trial = path.join(dir, 'runs', 'trial');
  const { stdout } = await cli([trial, '--against', path.join(dir, 'models', 'shipped')]);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0], /^epoch\s+\S+trial\s+\S+shipped$/);
  assert.match(lines[1], /^\s*1\s+41\.00 \(\+1\.00\)\s+40\.00$/);
  assert.match(lines[3], /^\s*3\s+54\.00 \(-1\.00\)\s+55\.00$/);
  // The reference's fourth epoch is past the run's last: not a row.
  assert.equal(lines.length, 5);
  assert.match(lines[4], /difference from .*shipped at the same epoch/);
  const json = JSON.parse((await cli([trial, '--json'])).stdout) as { runs: Array<{ history: Array<{ epoch: number; val_acc: number }> }> };
  assert.deepEqual(json.runs[0].history, [
    { epoch: 1, val_acc: 0.41 },
    { epoch: 2, val_acc: 0.52 },
    { epoch: 3, val_acc: 0.54 },
  ]);
});

test('no history, no folder, two runs: one readable error line each', async () => {
  const fails = async (d: string, re: RegExp) => {
    const err = await cli([d]).then(
      () => assert.fail(`${d}: should have failed`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr.trim(), re);
    assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
  };
  await fails(
    path.join(dir, 'empty'),
    /^error: .*empty: no training history here \(looked for state\.json, checkpoint\/state\.json, card\.json/,
  );
  await fails(path.join(dir, 'nowhere'), /^error: .*nowhere: no such folder$/);
  await fs.mkdir(path.join(dir, 'runs', 'second', 'checkpoint'), { recursive: true });
  await fs.writeFile(path.join(dir, 'runs', 'second', 'checkpoint', 'state.json'), JSON.stringify({ history: epochs([0.3]) }));
  await fails(path.join(dir, 'runs'), /^error: .*runs: holds 2 runs; name one of them/);
});
