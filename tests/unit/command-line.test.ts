import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCommand } from '../../src/cli/command-line.js';

test('the card command keeps the recipe and drops where files went', () => {
  assert.equal(
    runCommand([
      '--arch',
      'mobilenetv2',
      '--data',
      '/home/me/data/fer2013.csv.gz',
      '--runs',
      '/tmp/runs',
      '--out=/tmp/m',
      '--base',
      '../shared/pretrained/mnv2',
      '--resume',
      '--epochs',
      '30',
    ]),
    'npm run train -- --arch mobilenetv2 --data fer2013.csv.gz --base mnv2 --epochs 30',
  );
  assert.equal(
    runCommand(['--data=C/x/fer.csv', '--base', 'https://example.org/m/model.json']),
    'npm run train -- --data fer.csv --base https://example.org/m/model.json',
  );
});

test("a teacher inside the project keeps its path from the project folder; one outside, its folder's name", () => {
  const inside = path.join(process.cwd(), 'models', 'ensemble');
  assert.equal(runCommand(['--teacher', inside]), 'npm run train -- --teacher models/ensemble');
  assert.equal(runCommand(['--teacher=models/ensemble']), 'npm run train -- --teacher models/ensemble');
  assert.equal(runCommand(['--teacher', '/srv/teachers/ensemble']), 'npm run train -- --teacher ensemble');
});
