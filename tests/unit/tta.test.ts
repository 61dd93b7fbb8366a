/**
 * Test-time augmentation's views (inference/tta.ts) and the average over them
 * (inference/predict.ts): a shifted view is the face moved with its edges
 * repeated, the views come in the layout one forward pass needs, a request's
 * choice resolves against the card's, and a card saying 'shift' serves the mean
 * of its ten views' single predictions, each with the card's temperature; a
 * loaded folder is evaluated and timed with its card's views.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { FACE_PIXELS, flipFaces } from '../../src/inference/preprocess.js';
import { servedWith, shiftFaces, TTA_SHIFT, ttaOf, ttaViews, viewCount, type TtaKind } from '../../src/inference/tta.js';
import { predictFaces, type PredictableNetwork } from '../../src/inference/predict.js';
import { buildCustomCnn, CNN_INPUT } from '../../src/training/architectures/custom-cnn.js';
import { LABELS } from '../../src/types.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { disposeStandaloneEntry, loadModelEntry } from '../../src/inference/registry.js';
import { scoreEntry, scoreFaces } from '../../src/training/evaluate.js';
import { saveTinyModel, testCard, TINY_CNN } from '../helpers/models.js';

const S = 48;
const at = (face: ArrayLike<number>, y: number, x: number) => face[y * S + x];

/** A black face with a few grey levels placed by hand: one inside, one on each edge, one in a corner. */
function handmadeFace(): Uint8Array {
  const face = new Uint8Array(FACE_PIXELS);
  face[10 * S + 20] = 100; // inside
  face[30 * S + 47] = 150; // right edge
  face[5] = 200; // top edge (row 0)
  face[47 * S + 0] = 250; // bottom-left corner
  return face;
}

/** Pixels of a face whose value is not 0, as "y,x=value", sorted. */
function lit(face: ArrayLike<number>): string[] {
  const out: string[] = [];
  for (let i = 0; i < FACE_PIXELS; i++) if (face[i] !== 0) out.push(`${Math.floor(i / S)},${i % S}=${face[i]}`);
  return out.sort();
}

describe('the views of a face', () => {
  test('a shifted view is the face moved by whole pixels, the edge pixels repeated into the space it leaves', () => {
    const face = handmadeFace();
    assert.equal(TTA_SHIFT, 2);
    // Left by 2: every pixel two columns to the left; the right edge (column 47) repeated into columns 45-47.
    assert.deepEqual(lit(shiftFaces(face, -2, 0)), ['0,3=200', '10,18=100', '30,45=150', '30,46=150', '30,47=150'].sort());
    // Right by 2: the left edge (column 0) repeated into columns 0-2; the right edge's pixel falls off.
    assert.deepEqual(lit(shiftFaces(face, 2, 0)), ['0,7=200', '10,22=100', '47,0=250', '47,1=250', '47,2=250'].sort());
    // Up by 2: the bottom row repeated into rows 45-47; the top row's pixel falls off.
    assert.deepEqual(lit(shiftFaces(face, 0, -2)), ['8,20=100', '28,47=150', '45,0=250', '46,0=250', '47,0=250'].sort());
    // Down by 2: the top row repeated into rows 0-2; the bottom row's pixel falls off.
    assert.deepEqual(lit(shiftFaces(face, 0, 2)), ['0,5=200', '1,5=200', '2,5=200', '12,20=100', '32,47=150'].sort());
  });

  test('every pixel of a shifted view is the source pixel moved back, clamped to the face', () => {
    // A face with a different value at every pixel, so no pixel can come from the wrong place unnoticed.
    const face = Float32Array.from({ length: FACE_PIXELS }, (_, i) => i);
    const clamp = (v: number) => Math.min(S - 1, Math.max(0, v));
    for (const [dx, dy] of [
      [-2, 0],
      [2, 0],
      [0, -2],
      [0, 2],
      [3, -1],
    ]) {
      const moved = shiftFaces(face, dx, dy);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) assert.equal(at(moved, y, x), at(face, clamp(y - dy), clamp(x - dx)), `(${dx}, ${dy}) at ${y},${x}`);
      }
    }
  });

  test('1 view for none, 2 for flip, 10 for shift, concatenated view by view', () => {
    // Two different faces: view v of face i must be row v * 2 + i.
    const a = handmadeFace();
    const b = handmadeFace().reverse();
    const faces = new Uint8Array(2 * FACE_PIXELS);
    faces.set(a);
    faces.set(b, FACE_PIXELS);
    assert.deepEqual([viewCount('none'), viewCount('flip'), viewCount('shift')], [1, 2, 10]);
    assert.equal(ttaViews(faces, 'none'), faces, 'none: the faces themselves');

    const viewOf = (views: Float32Array | Uint8Array, v: number, i: number) =>
      views.subarray((v * 2 + i) * FACE_PIXELS, (v * 2 + i + 1) * FACE_PIXELS);
    const flip = ttaViews(faces, 'flip');
    assert.equal(flip.length, 2 * faces.length);
    const shift = ttaViews(faces, 'shift');
    assert.equal(shift.length, 10 * faces.length);
    for (const [i, face] of [a, b].entries()) {
      const mirror = flipFaces(face);
      const expected = [
        face,
        mirror,
        ...[face, mirror].flatMap((base) => [
          shiftFaces(base, -2, 0),
          shiftFaces(base, 2, 0),
          shiftFaces(base, 0, -2),
          shiftFaces(base, 0, 2),
        ]),
      ];
      for (let v = 0; v < 2; v++) assert.deepEqual(Array.from(viewOf(flip, v, i)), Array.from(expected[v]), `flip view ${v} of face ${i}`);
      for (let v = 0; v < 10; v++)
        assert.deepEqual(Array.from(viewOf(shift, v, i)), Array.from(expected[v]), `shift view ${v} of face ${i}`);
      // The ten views of this asymmetric face are ten different pictures.
      assert.equal(new Set(expected.map((e) => lit(e).join(' '))).size, 10);
    }
  });

  test('a buffer that is not whole faces is refused', () => {
    assert.throws(() => ttaViews(new Uint8Array(FACE_PIXELS + 1), 'flip'), /not a multiple of 2304/);
  });
});

describe('what a request gets (ttaOf)', () => {
  test("undefined: the card's kind; false: none; true: the card's kind, or flip when it has none", () => {
    const cases: Array<[TtaKind | undefined, boolean | undefined, TtaKind]> = [
      [undefined, undefined, 'none'],
      ['none', undefined, 'none'],
      ['flip', undefined, 'flip'],
      ['shift', undefined, 'shift'],
      [undefined, false, 'none'],
      ['flip', false, 'none'],
      ['shift', false, 'none'],
      [undefined, true, 'flip'],
      ['none', true, 'flip'],
      ['flip', true, 'flip'],
      ['shift', true, 'shift'],
    ];
    for (const [card, asked, expected] of cases) assert.equal(ttaOf(card, asked), expected, `card ${card}, asked ${asked}`);
  });

  test('how reports name each kind', () => {
    assert.deepEqual((['none', 'flip', 'shift'] as const).map(servedWith), ['without TTA', 'with flip TTA', 'with shift TTA (10 views)']);
  });
});

describe('predictions with a card saying shift', () => {
  let model: tf.LayersModel;
  let entry: PredictableNetwork;
  before(async () => {
    await initBackend('wasm');
    model = buildCustomCnn({ ...TINY_CNN, seed: 5 });
    // A temperature too: each view must be scaled before the average, as for flip.
    const calibration = { temperature: 1.7, ece_before: 0, ece_after: 0, fitted_on: 'test' };
    entry = {
      kind: 'network',
      card: { input: CNN_INPUT, tta: 'shift', calibration },
      run: (x) => model.predict(x) as tf.Tensor,
      outputsProbabilities: true,
    };
  });
  after(() => model.dispose());

  /** n different asymmetric faces. */
  const someFaces = (n: number) =>
    new Uint8Array(n * FACE_PIXELS).map((_, i) => (i * 37 + Math.floor(i / 48) * 11 + Math.floor(i / 2304) * 53) % 256);

  /** Face i's ten views, one at a time, each predicted alone without TTA, averaged here. */
  function meanOfSingleViews(faces: Uint8Array, i: number): number[] {
    const face = faces.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS);
    const mirror = flipFaces(face);
    const views = [face, mirror];
    for (const base of [face, mirror])
      for (const [dx, dy] of [
        [-2, 0],
        [2, 0],
        [0, -2],
        [0, 2],
      ])
        views.push(shiftFaces(base, dx, dy));
    const mean = new Array<number>(LABELS.length).fill(0);
    for (const v of views) {
      const row = predictFaces(entry, Uint8Array.from(v), { tta: false })[0];
      for (let k = 0; k < mean.length; k++) mean[k] += row[k] / views.length;
    }
    return mean;
  }

  const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
    for (let k = 0; k < LABELS.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-5, `${what}, class ${k}: ${a[k]} vs ${b[k]}`);
  };

  test("the card's default is the mean of the ten views' single predictions; ?tta=1 keeps it, ?tta=0 is the face alone", () => {
    const faces = someFaces(3);
    const served = predictFaces(entry, faces);
    const asked = predictFaces(entry, faces, { tta: true });
    const off = predictFaces(entry, faces, { tta: false });
    for (let i = 0; i < 3; i++) {
      const expected = meanOfSingleViews(faces, i);
      close(served[i], expected, `face ${i}`);
      close(asked[i], expected, `face ${i} with tta=1`);
      assert.ok(Math.abs(served[i].reduce((s, p) => s + p, 0) - 1) < 1e-4, 'a row still sums to 1');
      // The face alone differs from the ten views' mean (else this test could not tell them apart).
      assert.ok(Math.max(...expected.map((p, k) => Math.abs(p - off[i][k]))) > 1e-5, `face ${i}: the views change the answer`);
    }
    // A card saying flip gets two views: the mean of the face's and its mirror's.
    const flip = predictFaces({ ...entry, card: { ...entry.card, tta: 'flip' } }, faces.subarray(0, FACE_PIXELS))[0];
    const plain = predictFaces(entry, faces.subarray(0, FACE_PIXELS), { tta: false })[0];
    const mirrored = predictFaces(entry, Uint8Array.from(flipFaces(faces.subarray(0, FACE_PIXELS))), { tta: false })[0];
    close(
      flip,
      plain.map((p, k) => (p + mirrored[k]) / 2),
      'flip',
    );
  });

  test('more faces than one pass takes: each face still gets its own ten views', () => {
    // 60 faces x 10 views is more than a pass holds (512 views): the faces are split across passes.
    const faces = someFaces(60);
    const served = predictFaces(entry, faces);
    assert.equal(served.length, 60);
    for (const i of [0, 50, 51, 59]) close(served[i], meanOfSingleViews(faces, i), `face ${i}`);
  });
});

describe("scoreEntry: a model folder's scores as served (evaluation, and the comparison's time per face)", () => {
  let dir: string;
  before(async () => {
    await initBackend();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-tta-'));
    await saveTinyModel(dir, testCard('ten-views', 0.5, { tta: 'shift' }), 7);
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  test('a network whose card says shift is scored with its ten views, not on the face alone', async () => {
    const entry = await loadModelEntry(path.join(dir, 'ten-views'));
    try {
      assert.equal(entry.kind, 'network');
      if (entry.kind !== 'network') return;
      const faces = new Uint8Array(4 * FACE_PIXELS).map((_, i) => (i * 31 + Math.floor(i / 48) * 7) % 256);
      const served = await scoreEntry(entry, faces, { batchSize: 1 });
      const tenViews = await scoreFaces(entry.run, entry.card.input, faces, { tta: 'shift' });
      const alone = await scoreFaces(entry.run, entry.card.input, faces, { tta: 'none' });
      let fromTen = 0,
        fromAlone = 0;
      for (let k = 0; k < served.length; k++) {
        fromTen = Math.max(fromTen, Math.abs(served[k] - tenViews[k]));
        fromAlone = Math.max(fromAlone, Math.abs(served[k] - alone[k]));
      }
      assert.ok(fromTen < 1e-5, `served against ten views: ${fromTen}`);
      assert.ok(fromAlone > 1e-5, `served against the face alone: ${fromAlone} (the views must change the scores)`);
    } finally {
      disposeStandaloneEntry(entry);
    }
  });
});
