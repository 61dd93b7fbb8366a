/**
 * Every shipped model is its card's command with today's defaults: the command, parsed by the
 * real `npm run train` options, resolves to the settings the card says the model was trained
 * with. Changing a default without retraining (or shipping a model trained with extra flags)
 * fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { settingsFromOptions } from '../../src/cli/train-options.js';
import { parseTrainArgs } from '../helpers/train-args.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { architectureOf } from '../../src/training/architectures/index.js';

/** Not part of the recipe: where the files were (the card keeps file names only), and what the data decided. */
const NOT_RECIPE = new Set(['base', 'validation']);

const modelsDir = path.join(PROJECT_ROOT, 'models');
const trained = fs
  .readdirSync(modelsDir)
  .map((d) => path.join(modelsDir, d, 'card.json'))
  .filter((f) => fs.existsSync(f))
  .map((f) => ({ file: f, card: JSON.parse(fs.readFileSync(f, 'utf8')) as { command?: string; settings?: Record<string, unknown> } }))
  .filter(({ card }) => card.command?.startsWith('npm run train -- ') && card.settings);

const optionsOf = (command: string) => parseTrainArgs(command.slice('npm run train -- '.length).trim().split(/\s+/));

test('the models folder has trained models to check', () => {
  assert.ok(trained.length >= 2, `found ${trained.map((t) => t.file).join(', ')}`);
});

for (const { file, card } of trained) {
  test(`${path.basename(path.dirname(file))}: "${card.command}" with today's defaults is the recipe on its card`, () => {
    const recorded = card.settings!;
    // Settings the architecture never reads may change their defaults under a trained model.
    const unread = new Set<string>(architectureOf(String(recorded.arch)).unread);
    const resolved = settingsFromOptions(optionsOf(card.command!), Number(recorded.inputBlur ?? 0)) as unknown as Record<string, unknown>;
    for (const key of new Set([...Object.keys(recorded), ...Object.keys(resolved)])) {
      if (NOT_RECIPE.has(key) || unread.has(key)) continue;
      assert.deepEqual(
        resolved[key],
        recorded[key],
        `${key}: the command gives ${JSON.stringify(resolved[key])}, the card ${JSON.stringify(recorded[key])}`,
      );
    }
  });
}
