/**
 * FER2013 loaders (src/training/dataset.ts): the CSV, the same gzipped and the
 * Kaggle image folders give the same faces and labels; every kind of bad row is
 * reported as file:line and stops the load, or is skipped with `skipBad`; the
 * held-out split is seeded and stratified. Plus the real FER2013 when present.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  classCounts,
  DataError,
  loadCsv,
  loadDataSet,
  loadImageFolders,
  makeSplit,
  stratifiedSplit,
  trainValSplits,
  type DataSet,
  type LoadOptions,
  type Split,
} from '../../src/training/dataset.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';
import { splitOf } from '../../src/cli/usage.js';
import { LABELS, type Usage } from '../../src/types.js';
import { makeSyntheticFaces, toCsv, type SyntheticFaces, type SyntheticSplit } from '../helpers/synthetic-fer.js';

// Imbalanced like the real set (disgust rare).
const TRAIN_PER_CLASS = [30, 8, 30, 45, 30, 24, 33];
const TEST_PER_CLASS = [6, 3, 6, 9, 6, 5, 7];

let data: SyntheticFaces;
before(async () => {
  data = await makeSyntheticFaces({ trainPerClass: TRAIN_PER_CLASS, testPerClass: TEST_PER_CLASS, seed: 3 });
});
after(async () => {
  await data?.cleanup();
});

function assertSameRows(got: Split | undefined, want: SyntheticSplit, what: string): void {
  assert.ok(got, `${what}: split missing`);
  assert.equal(got.size, want.labels.length, `${what}: size`);
  assert.deepEqual(got.labels, want.labels, `${what}: labels`);
  assert.ok(Buffer.from(got.pixels).equals(Buffer.from(want.pixels)), `${what}: pixels differ`);
}

/** The faces of one class, in order, as buffers (folders list class by class). */
function facesOfClass(pixels: Uint8Array, labels: Uint8Array, c: number): Buffer[] {
  const out: Buffer[] = [];
  labels.forEach((l, i) => {
    if (l === c) out.push(Buffer.from(pixels.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS)));
  });
  return out;
}

describe('the three layouts give the same faces', () => {
  test('CSV: every row, in order, in its split', async () => {
    const ds = await loadCsv(data.csv);
    assert.deepEqual([...ds.keys()].sort(), ['PublicTest', 'Training']);
    assertSameRows(ds.get('Training'), data.splits.Training!, 'Training');
    assertSameRows(ds.get('PublicTest'), data.splits.PublicTest!, 'PublicTest');
    assert.deepEqual(classCounts(ds.get('Training')!), TRAIN_PER_CLASS);
  });

  test('.csv.gz: identical to the CSV', async () => {
    const ds = await loadCsv(data.csvGz);
    assertSameRows(ds.get('Training'), data.splits.Training!, 'Training (gz)');
    assertSameRows(ds.get('PublicTest'), data.splits.PublicTest!, 'PublicTest (gz)');
  });

  test('image folders: the same faces per class (train -> Training, test -> PublicTest)', async () => {
    const ds = await loadImageFolders(data.folder);
    for (const usage of ['Training', 'PublicTest'] as const) {
      const got = ds.get(usage)!;
      const want = data.splits[usage]!;
      assert.equal(got.size, want.labels.length, `${usage}: size`);
      assert.deepEqual(classCounts(got), classCounts(makeSplit(want.pixels, want.labels)), `${usage}: per-class counts`);
      for (let c = 0; c < LABELS.length; c++) {
        const a = facesOfClass(got.pixels, got.labels, c),
          b = facesOfClass(want.pixels, want.labels, c);
        a.forEach((face, i) => assert.ok(face.equals(b[i]), `${usage}/${LABELS[c]} face ${i}: pixels differ`));
      }
    }
  });

  test('loadDataSet picks the loader from the path', async () => {
    const sizes = async (p: string) => [...(await loadDataSet(p))].map(([u, s]) => `${u}:${s.size}`).sort();
    const want = await sizes(data.csv);
    assert.deepEqual(await sizes(data.csvGz), want);
    assert.deepEqual(await sizes(data.folder), want);
  });

  test('usages: only the asked splits are kept', async () => {
    const ds = await loadCsv(data.csv, { usages: ['PublicTest'] });
    assert.deepEqual([...ds.keys()], ['PublicTest']);
    const folders = await loadImageFolders(data.folder, { usages: ['Training'] });
    assert.deepEqual([...folders.keys()], ['Training']);
  });

  test('CRLF line ends, a byte-order mark and a quoted pixels field are read too', async () => {
    const one: Partial<Record<Usage, SyntheticSplit>> = {
      Training: { pixels: data.splits.Training!.pixels.slice(0, 2 * FACE_PIXELS), labels: data.splits.Training!.labels.slice(0, 2) },
    };
    const lines = toCsv(one).trimEnd().split('\n');
    lines[1] = lines[1].replace(/^(\d),([^,]+),/, '$1,"$2",');
    const file = path.join(data.dir, 'windows.csv');
    await fs.writeFile(file, '\ufeff' + lines.join('\r\n') + '\r\n');
    assertSameRows((await loadCsv(file)).get('Training'), one.Training!, 'CRLF/BOM/quoted');
  });
});

describe('bad rows: file:line, then stop or skip', () => {
  const good = (label: number, usage = 'Training') => `${label},${new Array(FACE_PIXELS).fill(128).join(' ')},${usage}`;
  const pixels = (values: number[]) => values.join(' ');
  const HEADER = 'emotion,pixels,Usage';
  // Each bad row sits on line 3, between good rows (lines 2 and 4).
  const cases: Array<[string, string, RegExp]> = [
    ['class 7', `7,${pixels(new Array(FACE_PIXELS).fill(1))},Training`, /emotion must be an integer 0-6, got "7"/],
    ['class -1', `-1,${pixels(new Array(FACE_PIXELS).fill(1))},Training`, /emotion must be an integer 0-6/],
    ['class "happy"', `happy,${pixels(new Array(FACE_PIXELS).fill(1))},Training`, /emotion must be an integer 0-6/],
    ['2303 values', `3,${pixels(new Array(FACE_PIXELS - 1).fill(1))},Training`, /pixels has 2303 values, expected 2304/],
    ['2305 values', `3,${pixels(new Array(FACE_PIXELS + 1).fill(1))},Training`, /more than 2304 values/],
    ['value 256', `3,${pixels([...new Array(FACE_PIXELS - 1).fill(1), 256])},Training`, /pixel 2304 is above 255/],
    ['a non-number pixel', `3,${pixels([...new Array(FACE_PIXELS - 1).fill(1), -1])},Training`, /found "-"/],
    [
      'unknown Usage',
      `3,${pixels(new Array(FACE_PIXELS).fill(1))},Validation`,
      /Usage must be one of Training, PublicTest, PrivateTest, got "Validation"/,
    ],
    ['two fields', `3,${pixels(new Array(FACE_PIXELS).fill(1))}`, /expected 3 comma-separated fields/],
  ];

  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(data.dir, 'bad-'));
  });

  for (const [name, row, message] of cases) {
    for (const gz of [false, true]) {
      test(`${name}${gz ? ' (.csv.gz)' : ''}`, async () => {
        const text = [HEADER, good(0), row, good(3, 'PublicTest'), good(6)].join('\n') + '\n';
        const file = path.join(dir, `${name.replace(/\W+/g, '_')}.csv${gz ? '.gz' : ''}`);
        await fs.writeFile(file, gz ? gzipSync(text) : text);
        await assert.rejects(loadCsv(file), (e: unknown) => {
          assert.ok(e instanceof DataError, `not a DataError: ${e}`);
          assert.equal(e.file, file);
          assert.equal(e.line, 3);
          assert.ok(e.message.startsWith(`${file}:3: `), e.message);
          assert.match(e.message, message);
          return true;
        });
        const warnings: string[] = [];
        const ds = await loadCsv(file, { skipBad: true, onWarning: (w) => warnings.push(w) });
        assert.equal(warnings.length, 1);
        assert.ok(warnings[0].includes(`${file}:3: `), warnings[0]);
        // The rows after the bad one are still read.
        assert.deepEqual([...ds.get('Training')!.labels], [0, 6]);
        assert.deepEqual([...ds.get('PublicTest')!.labels], [3]);
      });
    }
  }

  test('a bad header stops the load at line 1, even with skipBad', async () => {
    const file = path.join(dir, 'header.csv');
    await fs.writeFile(file, ['label,pixels,split', good(0)].join('\n'));
    for (const options of [{}, { skipBad: true }] as LoadOptions[]) {
      await assert.rejects(
        loadCsv(file, options),
        (e: unknown) =>
          e instanceof DataError && e.line === 1 && e.message.startsWith(`${file}:1: expected the header "emotion,pixels,Usage"`),
      );
    }
  });

  test('an empty file, a missing file, a folder without train/ or test/', async () => {
    const empty = path.join(dir, 'empty.csv');
    await fs.writeFile(empty, '');
    await assert.rejects(loadCsv(empty), (e: unknown) => e instanceof DataError && e.message === `${empty}: the file is empty`);
    const emptyGz = path.join(dir, 'empty.csv.gz');
    await fs.writeFile(emptyGz, gzipSync(''));
    await assert.rejects(loadCsv(emptyGz), (e: unknown) => e instanceof DataError && e.message === `${emptyGz}: the file is empty`);
    const missing = path.join(dir, 'nope.csv');
    await assert.rejects(loadCsv(missing), (e: unknown) => e instanceof DataError && e.message.startsWith(`${missing}: cannot open`));
    await assert.rejects(
      loadDataSet(missing),
      (e: unknown) => e instanceof DataError && e.message === `${missing}: no such file or folder`,
    );
    const bare = await fs.mkdtemp(path.join(dir, 'bare-'));
    await assert.rejects(
      loadDataSet(bare),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${bare}: expected sub-folders train/ and test/`),
    );
  });

  test('a truncated .csv.gz is an error naming the file, not a hang or a silent short read', async () => {
    const whole = await fs.readFile(data.csvGz);
    const file = path.join(dir, 'truncated.csv.gz');
    await fs.writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
    await assert.rejects(
      loadCsv(file),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${file}:`) && /cannot read/.test(e.message),
    );
  });

  test('image folders: an unknown class folder and an unreadable image', async () => {
    const root = await fs.mkdtemp(path.join(dir, 'folders-'));
    await fs.cp(path.join(data.folder, 'test'), path.join(root, 'test'), { recursive: true });
    const unknown = path.join(root, 'test', 'contempt');
    await fs.mkdir(unknown);
    await assert.rejects(
      loadImageFolders(root),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${unknown}: unknown class folder`),
    );
    const warnings: string[] = [];
    let ds: DataSet = await loadImageFolders(root, { skipBad: true, onWarning: (w) => warnings.push(w) });
    assert.equal(ds.get('PublicTest')!.size, data.splits.PublicTest!.labels.length);
    assert.equal(warnings.length, 1);
    await fs.rmdir(unknown);

    const broken = path.join(root, 'test', 'happy', 'broken.png');
    await fs.writeFile(broken, 'not a png at all');
    await assert.rejects(
      loadImageFolders(root),
      (e: unknown) => e instanceof DataError && e.message.startsWith(`${broken}: not a readable image`),
    );
    ds = await loadImageFolders(root, { skipBad: true, onWarning: (w) => warnings.push(w) });
    assert.equal(ds.get('PublicTest')!.size, data.splits.PublicTest!.labels.length);
    assert.ok(warnings[1].includes(broken));
  });
});

describe('the rows of one usage (the evaluation commands)', () => {
  test('the split when it has rows; else an error naming the file and the usages it has', () => {
    const face = new Uint8Array(FACE_PIXELS);
    const data: DataSet = new Map([
      ['Training', makeSplit(face, new Uint8Array([3]))],
      ['PublicTest', makeSplit(new Uint8Array(0), new Uint8Array(0))],
    ]);
    assert.equal(splitOf(data, 'Training', 'faces.csv').size, 1);
    assert.throws(
      () => splitOf(data, 'PublicTest', 'faces.csv'),
      /^Error: faces.csv has no PublicTest rows \(it has: Training, PublicTest\)$/,
    );
    assert.throws(() => splitOf(new Map(), 'PrivateTest', 'empty.csv'), /^Error: empty.csv has no PrivateTest rows \(it has: none\)$/);
  });
});

describe('held-out validation split', () => {
  test('stratified: each class keeps its share, nothing lost or duplicated', async () => {
    const train = (await loadCsv(data.csv)).get('Training')!;
    const [rest, held] = stratifiedSplit(train, 0.2, 42);
    const counts = classCounts(train);
    assert.deepEqual(
      classCounts(held),
      counts.map((c) => Math.round(c * 0.2)),
    );
    assert.deepEqual(
      classCounts(rest),
      counts.map((c) => c - Math.round(c * 0.2)),
    );
    const key = (s: Split, i: number) =>
      `${s.labels[i]}:${Buffer.from(s.pixels.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS)).toString('base64')}`;
    const all = (s: Split) => Array.from({ length: s.size }, (_, i) => key(s, i));
    assert.deepEqual([...all(rest), ...all(held)].sort(), all(train).sort());
  });

  test('seeded: the same seed gives the same split, another seed another', async () => {
    const train = (await loadCsv(data.csv)).get('Training')!;
    const [, a] = stratifiedSplit(train, 0.2, 42);
    const [, b] = stratifiedSplit(train, 0.2, 42);
    const [, c] = stratifiedSplit(train, 0.2, 43);
    assert.ok(Buffer.from(a.pixels).equals(Buffer.from(b.pixels)));
    assert.ok(!Buffer.from(a.pixels).equals(Buffer.from(c.pixels)));
  });

  test('trainValSplits: PublicTest when present, else a held-out part of Training', async () => {
    const ds = await loadCsv(data.csv);
    const withTest = trainValSplits(ds, 1);
    assert.equal(withTest.valName, 'PublicTest');
    assert.equal(withTest.val.size, data.splits.PublicTest!.labels.length);
    const onlyTrain = trainValSplits(new Map([['Training', ds.get('Training')!]]), 1);
    assert.match(onlyTrain.valName, /held-out 10% of Training \(seed 1\)/);
    assert.equal(onlyTrain.train.size + onlyTrain.val.size, ds.get('Training')!.size);
    assert.throws(() => trainValSplits(new Map([['PublicTest', ds.get('PublicTest')!]]), 1), /no Training rows/);
  });
});

describe('the real FER2013', () => {
  const REAL = path.resolve(import.meta.dirname, '../../../shared/data/fer2013/fer2013.csv.gz');
  // Per-class counts from ../shared/data/fer2013/README.md.
  const COUNTS: Record<string, number[]> = {
    Training: [3995, 436, 4097, 7215, 4830, 3171, 4965],
    PublicTest: [467, 56, 496, 895, 653, 415, 607],
  };

  test('all 32,298 rows load with the per-class counts of its README', async (t) => {
    try {
      await fs.access(REAL);
    } catch {
      t.skip(`${REAL} is absent (the shared FER2013 copy is not on this machine)`);
      return;
    }
    const ds = await loadCsv(REAL);
    assert.deepEqual([...ds.keys()].sort(), ['PublicTest', 'Training']);
    assert.equal(ds.get('Training')!.size, 28709);
    assert.equal(ds.get('PublicTest')!.size, 3589);
    assert.equal(ds.get('Training')!.size + ds.get('PublicTest')!.size, 32298);
    for (const [usage, counts] of Object.entries(COUNTS)) assert.deepEqual(classCounts(ds.get(usage as Usage)!), counts, usage);
  });
});
