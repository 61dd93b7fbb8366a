/**
 * `npm run predict`: the demo's answer on the terminal, for several photos at once; --json prints
 * ONE JSON object; a file that is not a photo is named with its reason, the others still answered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { LABELS } from '../../src/types.js';
import { DEMO_DIR, DEMO_FACES, demoSkip } from '../helpers/face-photos.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';

const run = promisify(execFile);
let models: TestModels;
const predict = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/predict.ts', '--models', models.dir, ...args], { cwd: PROJECT_ROOT });

before(async () => {
  models = await makeTestModels();
});
after(async () => {
  await models?.cleanup();
});

interface Answer {
  model: string;
  images: Array<{ file: string; error?: string; faces?: Array<{ label: string; scores: Record<string, number> }> }>;
}

test('--json: one object, every face of each photo, and a named error for a file that is not a photo', { skip: demoSkip }, async () => {
  const notPhoto = path.join(models.dir, 'notes.txt');
  await fs.writeFile(notPhoto, 'not a photo');
  const err = await predict(['--json', path.join(DEMO_DIR!, 'sample1.jpg'), notPhoto]).then(
    () => null,
    (e: { code: number; stdout: string }) => e,
  );
  assert.ok(err, 'a photo that cannot be read fails the command');
  assert.equal(err.code, 1);
  const answer = JSON.parse(err.stdout) as Answer;
  assert.equal(answer.model, 'tiny-b', 'the default model: the best by its card');
  const [photo, text] = answer.images;
  assert.equal(photo.faces?.length, DEMO_FACES.sample1);
  for (const f of photo.faces!) {
    assert.ok(LABELS.includes(f.label as (typeof LABELS)[number]));
    assert.ok(Math.abs(Object.values(f.scores).reduce((a, b) => a + b, 0) - 1) < 1e-4);
  }
  assert.equal(text.file, 'notes.txt');
  assert.match(text.error ?? '', /notes\.txt: .*not an image/);
});

test('a text answer per face, and a clear error for an unknown model', { skip: demoSkip }, async () => {
  const { stdout } = await predict(['--model', 'tiny-a', path.join(DEMO_DIR!, 'sample1.jpg')]);
  assert.match(stdout, new RegExp(`sample1\\.jpg \\(\\d+x\\d+\\): ${DEMO_FACES.sample1} faces`));
  assert.match(stdout, /face 1 at \d+,\d+ \d+x\d+: \w+ \d+%/);
  await assert.rejects(predict(['--model', 'nope', path.join(DEMO_DIR!, 'sample1.jpg')]), /no model "nope" in .* \(it has: /);
});
