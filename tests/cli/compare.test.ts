/**
 * The model comparison: McNemar on hand-computed cases, `npm run compare` on a
 * small synthetic FER set with two tiny models (JSON shape, figures equal to
 * `npm run evaluate --json`), the peers when installed, and the /compare page
 * in the real browser (table, heatmaps, a uPlot chart; screenshot kept in
 * test-output/), and the demo's side-by-side mode (every model's bars for one
 * upload, in the API and on the page).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { initBackend } from '../../src/tf/backend.js';
import { loadDataSet, type Split } from '../../src/training/dataset.js';
import { compareModels, mcnemarBetween } from '../../src/compare/compare.js';
import { mcnemarCounts, mcnemarTest, erfc } from '../../src/compare/mcnemar.js';
import { PEERS } from '../../src/compare/peers.js';
import { packageDir } from '../../src/inference/detect/package-dir.js';
import type { Comparison, ModelResult } from '../../src/compare/types.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { LABELS } from '../../src/types.js';
import type { EvalReport, HistoryEntry } from '../../src/artifacts/card.js';
import { launchChromium, noChromium as noBrowser, TEST_OUTPUT as OUT } from '../helpers/browser.js';
import { demoPhoto, demoSkip } from '../helpers/face-photos.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, saveTinyModel, testCard } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeSyntheticFer, type SyntheticData } from '../helpers/synthetic-fer.js';
import { TTA_SHIFT } from '../../src/inference/tta.js';
import { en } from '../../src/server/i18n/en.js';
import { id as indonesian } from '../../src/server/i18n/id.js';
import { translator } from '../../src/server/i18n/index.js';
import { translateComparisonText } from '../../src/server/present/compare-text.js';

const run = promisify(execFile);

/** A few fake epochs with one learning-rate drop, so the page has curves to draw. */
function history(seed: number): HistoryEntry[] {
  return [1, 2, 3, 4, 5].map((epoch) => ({
    epoch,
    loss: 2 - epoch * 0.2 - seed * 0.05,
    acc: 0.2 + epoch * 0.05,
    val_loss: 2.1 - epoch * 0.15,
    val_acc: 0.18 + epoch * 0.04,
    lr: epoch < 4 ? 1e-3 : 5e-4,
  }));
}

let syn: SyntheticData;
let modelsDir: string;
let split: Split;

before(async () => {
  await initBackend();
  syn = await makeSyntheticFer();
  modelsDir = path.join(syn.dir, 'models');
  // Named like our two main models, so McNemar's test runs between them.
  for (const [name, seed] of [
    ['custom-cnn', 1],
    ['mobilenetv2', 2],
  ] as const) {
    await saveTinyModel(modelsDir, testCard(name, 0.3, { history: history(seed), settings: { validation: 'PublicTest' } }), seed);
  }
  split = (await loadDataSet(syn.csv)).get('PublicTest')!;
});
after(async () => {
  await syn?.cleanup();
});

describe('McNemar', () => {
  test('exact binomial for few discordant faces (b=3, c=9: p = 2 * 299/4096)', () => {
    const t = mcnemarTest(3, 9);
    assert.equal(t.method, 'exact-binomial');
    assert.equal(t.statistic, null);
    assert.ok(Math.abs(t.p_value - 598 / 4096) < 1e-12, `p = ${t.p_value}`);
    assert.equal(mcnemarTest(9, 3).p_value, t.p_value, 'symmetric');
    assert.equal(mcnemarTest(0, 0).p_value, 1);
    assert.equal(mcnemarTest(5, 5).p_value, 1);
  });

  test('chi-square with continuity correction otherwise (b=30, c=10: 9.025, p = 0.0026631)', () => {
    const t = mcnemarTest(30, 10);
    assert.equal(t.method, 'chi-square-cc');
    assert.equal(t.statistic, 9.025);
    assert.ok(Math.abs(t.p_value - 0.002663119259) < 1e-8, `p = ${t.p_value}`);
    assert.ok(Math.abs(erfc(0.5) - 0.4795001222) < 1e-7);
  });

  test('counts the 2x2 table and names the better model', () => {
    const truth = [0, 1, 2, 3, 4, 5, 6, 0];
    const a = [0, 1, 2, 3, 0, 0, 0, 1]; // right on 0-3
    const b = [0, 1, 0, 0, 4, 5, 0, 1]; // right on 0, 1, 4, 5
    assert.deepEqual(mcnemarCounts(truth, a, b), { both_correct: 2, a_only: 2, b_only: 2, both_wrong: 2 });
    const r = mcnemarBetween('A', 'B', Uint8Array.from(truth), Uint8Array.from(a), Uint8Array.from([0, 1, 2, 0, 4, 5, 0, 1]));
    assert.equal(r.a_only, 1);
    assert.equal(r.b_only, 2);
    assert.equal(r.better, 'B');
    assert.equal(r.significant, false);
    assert.match(r.summary, /no real difference/);
  });
});

describe('npm run compare', () => {
  let comparison: Comparison;
  const out = () => path.join(syn.dir, 'comparison.json');

  test('writes comparison.json with the data name, usage and n stated', { timeout: 180_000 }, async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/compare.ts',
        '--data',
        syn.csv,
        '--usage',
        'PublicTest',
        '--models',
        modelsDir,
        '--out',
        out(),
        '--no-peers',
        '--latency-runs',
        '3',
      ],
      { cwd: PROJECT_ROOT },
    );
    assert.match(stdout, /custom-cnn/);
    comparison = JSON.parse(await fsp.readFile(out(), 'utf8')) as Comparison;
    assert.equal(comparison.version, 1);
    assert.equal(comparison.data.name, 'synthetic-fer.csv');
    assert.equal(comparison.data.usage, 'PublicTest');
    assert.equal(comparison.data.n, split.size);
    assert.match(comparison.data.description, /synthetic-fer\.csv, PublicTest rows \(\d+ faces\)/);
    assert.deepEqual(comparison.labels, [...LABELS]);
    assert.deepEqual(
      comparison.models.map((m) => m.id),
      ['custom-cnn', 'mobilenetv2'],
    );
    for (const m of comparison.models) {
      assert.ok(m.available);
      const r = m as ModelResult;
      assert.equal(r.kind, 'ours');
      assert.equal(r.confusion.length, 7);
      assert.deepEqual(Object.keys(r.per_class), [...LABELS]);
      assert.ok(r.params > 0 && r.size_bytes > 0);
      assert.equal(r.latency.runs, 3);
      assert.ok(r.latency.median_ms > 0);
      assert.equal(r.history?.length, 5);
      assert.ok(
        r.notes.some((n) => /validation set/.test(n)),
        'says PublicTest was the validation set',
      );
    }
    assert.equal(comparison.mcnemar.length, 1);
    const t = comparison.mcnemar[0];
    assert.deepEqual([t.a, t.b], ['custom-cnn', 'mobilenetv2']);
    assert.equal(t.both_correct + t.a_only + t.b_only + t.both_wrong, split.size);
  });

  test('figures match `npm run evaluate --json` exactly', { timeout: 180_000 }, async () => {
    assert.ok(comparison, 'the previous test wrote the comparison');
    const reports = await Promise.all(
      ['custom-cnn', 'mobilenetv2'].map(async (name) => {
        const { stdout } = await run(
          process.execPath,
          [
            '--import',
            'tsx',
            'src/cli/evaluate.ts',
            '--model',
            path.join(modelsDir, name),
            '--data',
            syn.csv,
            '--usage',
            'PublicTest',
            '--json',
          ],
          { cwd: PROJECT_ROOT },
        );
        return JSON.parse(stdout) as EvalReport;
      }),
    );
    for (const report of reports) {
      const m = comparison.models.find((x) => x.id === report.model) as ModelResult;
      const mine: EvalReport = {
        model: m.model,
        usage: m.usage,
        n: m.n,
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        per_class: m.per_class,
        confusion: m.confusion,
      };
      assert.deepEqual(mine, report);
    }
  });

  const peersInstalled = PEERS.every((p) => packageDir(p.pkg) !== null);
  test(
    'peer models run on this TF.js with their labels mapped onto FER2013',
    {
      skip: peersInstalled ? false : 'peer packages (@vladmandic/face-api, @vladmandic/human) are not installed',
      timeout: 120_000,
    },
    async () => {
      const c = await compareModels({
        modelsDir: path.join(syn.dir, 'none'),
        split,
        usage: 'PublicTest',
        dataName: 'synthetic',
        latencyRuns: 2,
      });
      assert.deepEqual(
        c.models.map((m) => m.id),
        ['face-api-expression', 'human-emotion'],
      );
      for (const m of c.models) {
        assert.ok(m.available, m.available ? '' : m.reason);
        const r = m as ModelResult;
        assert.equal(r.kind, 'peer');
        assert.equal(r.n, split.size);
        assert.deepEqual(Object.values(r.label_mapping ?? {}).sort(), [...LABELS].sort());
        assert.ok(r.params > 100_000 && r.size_bytes > 100_000);
        assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
      }
      assert.equal(c.mcnemar.length, 0, 'no pair of ours in this run');
    },
  );

  test(
    '--pair runs McNemar between any two folders: a copy of a model against itself disagrees on no face',
    { timeout: 180_000 },
    async () => {
      const dir = path.join(syn.dir, 'pair-models');
      await fsp.cp(path.join(modelsDir, 'custom-cnn'), path.join(dir, 'custom-cnn'), { recursive: true });
      await fsp.cp(path.join(modelsDir, 'custom-cnn'), path.join(dir, 'my-cnn'), { recursive: true });
      const args = ['--import', 'tsx', 'src/cli/compare.ts', '--data', syn.csv, '--usage', 'PublicTest', '--models', dir, '--no-peers'];
      const { stdout } = await run(process.execPath, [...args, '--latency-runs', '2', '--pair', 'my-cnn,custom-cnn'], {
        cwd: PROJECT_ROOT,
      });
      assert.match(stdout, /McNemar:/);
      const c = JSON.parse(await fsp.readFile(path.join(dir, 'comparison.json'), 'utf8')) as Comparison;
      assert.equal(c.mcnemar.length, 1);
      const t = c.mcnemar[0];
      assert.deepEqual([t.a, t.b, t.a_only, t.b_only], ['my-cnn', 'custom-cnn', 0, 0]);
      assert.equal(t.both_correct + t.both_wrong, split.size);
      // A misspelt name fails at once, naming it and the models that are there.
      const typo = await run(process.execPath, [...args, '--pair', 'my-cnn,custom-nn'], { cwd: PROJECT_ROOT }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      assert.ok(typo, 'a misspelt --pair fails');
      assert.notEqual(typo.code, 0);
      assert.match(typo.stderr, /no model named "custom-nn" in .*pair-models \(have: custom-cnn, my-cnn\)/);
    },
  );

  test('a peer that cannot load is reported, not fatal', async () => {
    const broken = {
      id: 'broken-peer',
      pkg: 'nothing',
      load: async () => {
        throw new Error('needs another TF.js');
      },
    };
    const c = await compareModels({
      modelsDir: path.join(syn.dir, 'none'),
      split,
      usage: 'PublicTest',
      dataName: 'synthetic',
      peers: [broken],
    });
    assert.deepEqual(c.models, [
      { id: 'broken-peer', kind: 'peer', available: false, source: 'nothing', reason: 'cannot run here: needs another TF.js' },
    ]);
  });
});

describe("a card's TTA in the comparison", () => {
  test('said in the notes, in the words the /compare page translates (flip, and shift with its shift in pixels)', async () => {
    const dir = path.join(syn.dir, 'tta-models');
    await saveTinyModel(dir, testCard('flipper', 0.3, { tta: 'flip' }), 3);
    await saveTinyModel(dir, testCard('shifter', 0.3, { tta: 'shift' }), 4);
    await saveTinyModel(dir, testCard('plain', 0.3, { tta: 'none' }), 5);
    const c = await compareModels({ modelsDir: dir, split, usage: 'PublicTest', dataName: 'synthetic', latencyRuns: 1, peers: [] });
    const notes = (name: string) => (c.models.find((m) => m.id === name) as ModelResult).notes;
    const shiftNote = en['cmptext.ttaShift'].replace('{px}', String(TTA_SHIFT));
    assert.ok(notes('flipper').includes(en['cmptext.tta']));
    assert.ok(notes('shifter').includes(shiftNote));
    assert.ok(!notes('plain').some((n) => /TTA/.test(n)));
    const t = translator('id');
    assert.equal(translateComparisonText(en['cmptext.tta'], t), indonesian['cmptext.tta']);
    assert.equal(translateComparisonText(shiftNote, t), indonesian['cmptext.ttaShift'].replace('{px}', String(TTA_SHIFT)));
  });
});

describe('GET /compare', () => {
  let server: TestServer;
  before(async () => {
    // The shipped file lives in models/; the page reads <models>/comparison.json.
    await fsp.copyFile(path.join(syn.dir, 'comparison.json'), path.join(modelsDir, 'comparison.json'));
    server = await startTestServer(modelsDir);
  });
  after(async () => {
    await server?.close();
  });

  test('renders the table, heatmaps and what the rows were', async () => {
    const res = await fetch(`${server.url}/compare`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<table class="compare-table" id="summary-table">/);
    assert.equal(html.match(/<table class="confusion">/g)?.length, 2);
    assert.match(html, /synthetic-fer\.csv, PublicTest rows/);
    assert.match(html, /class="best"/);
    assert.match(html, /Most confused:/);
    assert.match(html, /custom-cnn vs mobilenetv2/);
    assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline scripts');
  });

  test('says how to make comparison.json when it is missing', async () => {
    const empty = await startTestServer(path.join(syn.dir, 'no-models-here'));
    try {
      const html = await (await fetch(`${empty.url}/compare`)).text();
      assert.match(html, /npm run compare -- --data/);
      assert.match(html, /does not exist/);
    } finally {
      await empty.close();
    }
  });

  test('in the browser: table, heatmaps and uPlot charts (screenshot)', { skip: noBrowser, timeout: 120_000 }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.url}/compare`);
      assert.equal(await page.title(), 'Model comparison · ekspresi');
      await page.waitForSelector('.chart[data-drawn="true"] canvas', { timeout: 15_000 });
      assert.equal(await page.locator('#summary-table tbody tr').count(), 2);
      assert.equal((await page.locator('#summary-table td.best').count()) >= 1, true);
      assert.equal(await page.locator('table.confusion').count(), 2);
      // Two charts (loss, accuracy) per model with a history, and a reliability diagram per calibrated model.
      assert.equal(await page.locator('.chart[data-drawn="true"] .uplot').count(), 6);
      const shade = await page
        .locator('table.confusion td.diagonal')
        .first()
        .evaluate((td) => getComputedStyle(td).backgroundColor);
      assert.notEqual(shade, 'rgba(0, 0, 0, 0)', 'heatmap cells are shaded');
      assert.deepEqual(errors, []);
      fs.mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: path.join(OUT, 'compare.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

describe('side by side', () => {
  let server: TestServer;
  let cleanup: () => Promise<void>;
  before(async () => {
    const models = await makeTestModels();
    cleanup = models.cleanup;
    server = await startTestServer(models.dir);
  });
  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  function form(photo: Uint8Array, extra: Record<string, string> = {}): FormData {
    const fd = new FormData();
    fd.append('image', new Blob([new Uint8Array(photo)], { type: 'image/png' }), 'face.png');
    for (const [k, v] of Object.entries(extra)) fd.append(k, v);
    return fd;
  }

  test('POST /api/predict?model=all: every model on the same faces, each as when asked alone', async () => {
    const photo = await facePng(120);
    const res = await fetch(`${server.url}/api/predict?model=all`, { method: 'POST', body: form(photo) });
    assert.equal(res.status, 200);
    type Verdict = { label: string; scores: Record<string, number> };
    const body = (await res.json()) as {
      model: string;
      models: string[];
      faces: Array<{ box: object; by_model: Record<string, Verdict> }>;
    };
    assert.equal(body.model, 'all');
    assert.deepEqual(body.models, ['tiny-b', 'tiny-a']);
    assert.ok(body.faces.length >= 1);
    for (const id of body.models) {
      const alone = (await (await fetch(`${server.url}/api/predict?model=${id}`, { method: 'POST', body: form(photo) })).json()) as {
        faces: Verdict[];
      };
      assert.equal(alone.faces.length, body.faces.length, 'the same faces');
      body.faces.forEach((f, i) => {
        const v = f.by_model[id];
        assert.deepEqual(Object.keys(v.scores), [...LABELS]);
        assert.equal(v.label, alone.faces[i].label);
        for (const l of LABELS) assert.ok(Math.abs(v.scores[l] - alone.faces[i].scores[l]) < 1e-6, `${id} ${l}`);
      });
    }
  });

  test('POST /predict with all=1 returns one column of bars per model', async () => {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: form(await facePng(120), { all: '1' }),
      headers: { 'HX-Request': 'true' },
    });
    assert.equal(res.status, 200);
    const html = await res.text();
    const faces = html.match(/<article class="face"/g)?.length ?? 0;
    assert.ok(faces >= 1);
    assert.equal(html.match(/<section class="model-column"/g)?.length, 2 * faces, 'two models per face');
    assert.equal(html.match(/<meter /g)?.length, 14 * faces, 'seven bars per model');
  });

  test('in the browser: tick "side by side", upload, see every model (screenshot)', { skip: noBrowser, timeout: 120_000 }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 900, height: 1100 } });
      await page.goto(server.url + '/');
      await page.waitForFunction(() => 'htmx' in window, null, { timeout: 10_000 });
      fs.mkdirSync(OUT, { recursive: true });
      const photo = path.join(OUT, 'side-by-side-face.png');
      fs.writeFileSync(photo, await facePng(160));
      await page.check('#all');
      await page.setInputFiles('#image', photo);
      await page.click('#submit');
      await page.waitForSelector('#result .model-column');
      assert.equal(await page.locator('#result .face').first().locator('.model-column').count(), 2);
      assert.equal(new URL(page.url()).pathname, '/', 'htmx swapped the partial in place');
      await page.screenshot({ path: path.join(OUT, 'side-by-side.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

describe('side by side with three models: the annotated photo, sorted bars, how many agree', { skip: demoSkip }, () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    await initBackend();
    dir = await fsp.mkdtemp(path.join(syn.dir, 'three-'));
    // tiny-c has tiny-a's weights: at least two of the three always agree.
    await saveTinyModel(dir, testCard('tiny-a', 0.4), 1);
    await saveTinyModel(dir, testCard('tiny-b', 0.5), 2);
    await saveTinyModel(dir, testCard('tiny-c', 0.3), 1);
    server = await startTestServer(dir);
  });
  after(async () => {
    await server?.close();
  });

  test('POST /predict all=1 on a group photo: numbered boxes on the photo, each column highest bar first', async () => {
    const fd = new FormData();
    fd.append('image', new Blob([new Uint8Array(demoPhoto('sample1'))], { type: 'image/jpeg' }), 'photo.jpg');
    fd.append('all', '1');
    const res = await fetch(`${server.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true' } });
    assert.equal(res.status, 200);
    const html = await res.text();
    const api = await fetch(`${server.url}/api/predict?model=all`, {
      method: 'POST',
      body: new Uint8Array(demoPhoto('sample1')),
      headers: { 'content-type': 'image/jpeg' },
    });
    const body = (await api.json()) as { models: string[]; faces: Array<{ by_model: Record<string, { label: string }> }> };
    assert.deepEqual(body.models, ['tiny-b', 'tiny-a', 'tiny-c']);
    assert.equal(body.faces.length, 3);

    // The photo with one numbered box per face, as in the single-model view.
    assert.match(html, /<figure class="photo-frame">/);
    assert.match(html, /<img class="photo" src="data:image\/jpeg;base64,/);
    const boxes = [...html.matchAll(/<rect class="face-box expr-(\w+)"/g)].map((m) => m[1]);
    assert.equal(boxes.length, 3);
    for (const n of [1, 2, 3]) assert.match(html, new RegExp(`text-anchor="middle">${n}</text>`));

    const articles = html.split('<article class="face"').slice(1);
    assert.equal(articles.length, 3);
    let partly = 0;
    articles.forEach((a, i) => {
      const labels = body.models.map((m) => body.faces[i].by_model[m].label);
      const counts = labels.map((l) => labels.filter((x) => x === l).length);
      const k = Math.max(...counts);
      const majority = labels[counts.indexOf(k)];
      // The face's number over its columns, coloured like its box (the label most models give).
      assert.match(a, new RegExp(`<span class="face-number expr-${majority}" title="Face ${i + 1} on the photo">${i + 1}</span>`));
      assert.equal(boxes[i], majority, `box ${i + 1} is coloured by the majority label`);
      if (k === 2) partly++;
      const said = k === 3 ? 'All 3 models agree.' : `2 of 3 models agree: ${majority}.`;
      assert.ok(a.includes(said), `face ${i + 1}: "${said}" for ${labels.join(', ')}`);
      assert.doesNotMatch(a, /The models disagree/);
      // Every model's seven bars, highest first, as the single view sorts them.
      const columns = a.split('<section class="model-column"').slice(1);
      assert.equal(columns.length, 3);
      for (const col of columns) {
        const values = [...col.matchAll(/<meter [^>]*value="([\d.]+)"/g)].map((m) => Number(m[1]));
        assert.equal(values.length, 7);
        for (let j = 1; j < values.length; j++) assert.ok(values[j - 1] >= values[j], `bars sorted: ${values.join(' ')}`);
        assert.match(col, /<li class="bar top">/);
        assert.ok(col.indexOf('<li class="bar top">') === col.indexOf('<li class="bar'), 'the top label is the first bar');
      }
    });
    // These weights split 2 to 1 on sample1's faces: the partial-agreement sentence is the one shown.
    assert.ok(partly > 0, 'some face has two of three models agreeing');
  });
});
