/**
 * Ensemble model folders: `npm run ensemble` writes one (a card naming its members) and measures it;
 * the registry serves it on top of the members it already loaded; its answer is the mean of the
 * members' answers as served (TTA, temperature), the same in `npm run evaluate`, `npm run compare`,
 * the API and private mode's manifest; a broken ensemble is skipped with its reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { compareModels } from '../../src/compare/compare.js';
import { gradCam } from '../../src/inference/gradcam.js';
import { predictFaces, topLabel } from '../../src/inference/predict.js';
import { disposeRegistry, loadRegistry, type ModelRegistry } from '../../src/inference/registry.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { initBackend } from '../../src/tf/backend.js';
import { loadDataSet, type Split } from '../../src/training/dataset.js';
import { LABELS, NUM_CLASSES } from '../../src/types.js';
import type { EvalReport, ModelCard } from '../../src/artifacts/card.js';
import { facePng } from '../helpers/images.js';
import { saveTinyModel, testCard } from '../helpers/models.js';
import { startTestServer } from '../helpers/server.js';
import { makeSyntheticFer, type SyntheticData } from '../helpers/synthetic-fer.js';

const run = promisify(execFile);
const cli = (script: string, args: string[]) =>
  run(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: PROJECT_ROOT });

let syn: SyntheticData;
let modelsDir: string;
let split: Split;
let registry: ModelRegistry;

const calibration = { temperature: 1.7, ece_before: 0.1, ece_after: 0.05, fitted_on: 'synthetic' };

before(async () => {
  await initBackend();
  syn = await makeSyntheticFer();
  modelsDir = path.join(syn.dir, 'models');
  // One member with flip TTA, one with a temperature: the ensemble must serve each as it is served alone.
  await saveTinyModel(modelsDir, testCard('custom-cnn', 0.3, { calibration }), 1);
  await saveTinyModel(modelsDir, testCard('mobilenetv2', 0.35, { tta: 'flip' }), 2);
  await cli('ensemble', ['--data', syn.csv, '--models', modelsDir]);
  split = (await loadDataSet(syn.csv)).get('PublicTest')!;
  registry = await loadRegistry(modelsDir);
});
after(async () => {
  if (registry) disposeRegistry(registry);
  await syn?.cleanup();
});

const readCard = async (name: string) => JSON.parse(await fsp.readFile(path.join(modelsDir, name, 'card.json'), 'utf8')) as ModelCard;

describe('npm run ensemble', () => {
  test('writes a card-only folder naming its members, measured on PublicTest, with the command and no paths', async () => {
    const card = await readCard('ensemble');
    assert.deepEqual(await fsp.readdir(path.join(modelsDir, 'ensemble')), ['card.json']);
    assert.equal(card.arch, 'ensemble');
    assert.deepEqual(card.members, ['custom-cnn', 'mobilenetv2']);
    assert.equal(card.metrics.PublicTest?.n, split.size);
    assert.equal(card.command, 'npm run ensemble -- --data synthetic-fer.csv');
    assert.ok(!JSON.stringify(card).includes(syn.dir), 'no local paths in the card');
  });

  test('refuses fewer than two members, and names a member that is missing', async () => {
    await assert.rejects(cli('ensemble', ['--data', syn.csv, '--models', modelsDir, '--members', 'custom-cnn']), /two or more/);
    await assert.rejects(
      cli('ensemble', ['--data', syn.csv, '--models', modelsDir, '--members', 'custom-cnn,nope', '--name', 'e2']),
      /--members nope/,
    );
  });
});

describe('serving an ensemble', () => {
  test('the registry shares the loaded members, and the answer is the mean of theirs as served', () => {
    const e = registry.get('ensemble')!;
    assert.equal(e.kind, 'ensemble');
    if (e.kind !== 'ensemble') return;
    assert.deepEqual(
      e.members.map((m) => m.id),
      ['custom-cnn', 'mobilenetv2'],
    );
    assert.equal(e.members[0], registry.get('custom-cnn'), 'the same loaded network, not a second copy');
    const faces = split.pixels.slice(0, 3 * 48 * 48);
    const mine = predictFaces(e, faces);
    const a = predictFaces(registry.get('custom-cnn')!, faces);
    const b = predictFaces(registry.get('mobilenetv2')!, faces);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < NUM_CLASSES; k++) assert.ok(Math.abs(mine[i][k] - (a[i][k] + b[i][k]) / 2) < 1e-6, `face ${i} ${LABELS[k]}`);
    }
    // The members really differ from each other here, so the mean is not trivially either one.
    assert.ok(a[0].some((v, k) => Math.abs(v - b[0][k]) > 1e-3));
  });

  test('npm run evaluate and npm run compare measure what the server answers', async () => {
    const { stdout } = await cli('evaluate', [
      '--model',
      path.join(modelsDir, 'ensemble'),
      '--data',
      syn.csv,
      '--usage',
      'PublicTest',
      '--json',
    ]);
    const report = JSON.parse(stdout) as EvalReport;
    const e = registry.get('ensemble')!;
    const served = predictFaces(e, split.pixels).map(topLabel);
    const right = served.filter((label, i) => label === LABELS[split.labels[i]]).length;
    assert.equal(report.accuracy, right / split.size);
    assert.equal(report.accuracy, (await readCard('ensemble')).metrics.PublicTest?.accuracy);
    const c = await compareModels({ modelsDir, split, dataName: 'synthetic-fer.csv', usage: 'PublicTest', peers: [], latencyRuns: 2 });
    const entry = c.models.find((m) => m.id === 'ensemble');
    assert.ok(entry?.available, JSON.stringify(entry));
    if (entry?.available) assert.equal(entry.accuracy, report.accuracy);
  });

  test('Grad-CAM of an ensemble: one 48x48 map per face in 0-1', () => {
    const maps = gradCam(registry.get('ensemble')!, split.pixels.slice(0, 2 * 48 * 48), [3, 0]);
    assert.equal(maps.length, 2 * 48 * 48);
    assert.ok(maps.every((v) => v >= 0 && v <= 1 + 1e-6));
  });

  test('the API answers with it, and private mode lists it by its members', async () => {
    const server = await startTestServer(modelsDir, { privateMode: true, rateLimitPerMinute: 0 });
    try {
      const body = new FormData();
      body.append('image', new Blob([new Uint8Array(await facePng(200))], { type: 'image/png' }), 'face.png');
      const res = await fetch(`${server.url}/api/predict?model=ensemble`, { method: 'POST', body });
      assert.equal(res.status, 200);
      const answer = (await res.json()) as { model: string };
      assert.equal(answer.model, 'ensemble');
      const manifest = (await (await fetch(`${server.url}/private/manifest.json`)).json()) as {
        models: Array<{ id: string; members?: string[]; url?: string }>;
      };
      const e = manifest.models.find((m) => m.id === 'ensemble');
      assert.deepEqual(e, { id: 'ensemble', members: ['custom-cnn', 'mobilenetv2'] });
      assert.equal((await fetch(`${server.url}/private/models/ensemble/model.json`)).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('a broken ensemble is skipped with its reason', () => {
  test('missing member, ensemble of ensembles, members on a network card', async () => {
    const write = async (name: string, card: ModelCard) => {
      await fsp.mkdir(path.join(modelsDir, name), { recursive: true });
      await fsp.writeFile(path.join(modelsDir, name, 'card.json'), JSON.stringify(card));
    };
    await write('lost', testCard('lost', 0.9, { arch: 'ensemble', members: ['custom-cnn', 'gone'] }));
    await write('nested', testCard('nested', 0.9, { arch: 'ensemble', members: ['custom-cnn', 'ensemble'] }));
    await write('half', testCard('half', 0.9, { arch: 'ensemble' }));
    const r = await loadRegistry(modelsDir);
    try {
      const reason = (id: string) => r.skipped.find((s) => s.id === id)?.reason ?? 'not skipped';
      assert.match(reason('lost'), /member gone/);
      assert.match(reason('nested'), /member ensemble is itself an ensemble/);
      assert.match(reason('half'), /"members"/);
      assert.ok(r.get('ensemble'), 'the good ensemble still serves');
    } finally {
      disposeRegistry(r);
      for (const name of ['lost', 'nested', 'half']) await fsp.rm(path.join(modelsDir, name), { recursive: true });
    }
  });
});
