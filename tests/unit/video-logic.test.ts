/**
 * The video timeline's pure parts, as the browser runs them (static/video/):
 * when frames are sampled, how faces are followed by box overlap, and the
 * CSV the page exports.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CSV_COLUMNS, LABELS, timelineCsv, timelineRows } from '../../static/video/csv.js';
import { sampleTimes } from '../../static/video/sample.js';
import { createTracker, iou, type Box } from '../../static/video/track.js';

const box = (x: number, y: number, size = 100): Box => ({ x, y, width: size, height: size });
const ids = (faces: Array<{ id: number }>) => faces.map((f) => f.id);

describe('sampling times', () => {
  test('5 a second over 4 s gives 20 samples from 0 to 3.8 s', () => {
    const times = sampleTimes(4, 5);
    assert.equal(times.length, 20);
    assert.equal(times[0], 0);
    assert.equal(times[3], 0.6);
    assert.equal(times.at(-1), 3.8);
  });
  test('a container rounding its length up adds no sample at the very end; a longer video does', () => {
    assert.equal(sampleTimes(4.001, 5).length, 20);
    assert.equal(sampleTimes(4.05, 5).length, 21);
    assert.equal(sampleTimes(1, 2.5).length, 3);
  });
  test('a video shorter than one interval still gives its first frame', () => {
    assert.deepEqual(sampleTimes(0.1, 5), [0]);
  });
  test('no length, an unknown length or no rate gives no samples', () => {
    for (const [d, fps] of [
      [0, 5],
      [NaN, 5],
      [Infinity, 5],
      [4, 0],
      [4, -1],
    ])
      assert.deepEqual(sampleTimes(d, fps), []);
  });
});

describe('following faces by box overlap', () => {
  test('intersection over union', () => {
    assert.equal(iou(box(0, 0), box(0, 0)), 1);
    assert.equal(iou(box(0, 0), box(200, 0)), 0);
    assert.ok(Math.abs(iou(box(0, 0), box(50, 0)) - 50 / 150) < 1e-12);
    assert.equal(iou({ x: 0, y: 0, width: 0, height: 0 }, box(0, 0)), 0);
  });

  test('moving faces keep their ids, whatever order the detector lists them in', () => {
    const tracker = createTracker();
    assert.deepEqual(ids(tracker.update([{ box: box(300, 0) }, { box: box(0, 0) }])), [2, 1]);
    for (let step = 1; step <= 10; step++) {
      const faces = [{ box: box(step * 10, 0) }, { box: box(300 - step * 5, 5) }];
      assert.deepEqual(ids(tracker.update(step % 2 ? faces : [...faces].reverse())), step % 2 ? [1, 2] : [2, 1]);
    }
  });

  test('a face that overlaps no track gets a new id; ids are never reused', () => {
    const tracker = createTracker();
    tracker.update([{ box: box(0, 0) }]);
    assert.deepEqual(ids(tracker.update([{ box: box(0, 0) }, { box: box(500, 0) }])), [1, 2]);
    // A cut: both faces elsewhere.
    assert.deepEqual(ids(tracker.update([{ box: box(1000, 500) }])), [3]);
  });

  test('a face missed for up to maxGap samples keeps its id; after a longer gap it is a new face', () => {
    const tracker = createTracker({ maxGap: 2 });
    tracker.update([{ box: box(0, 0) }]);
    tracker.update([]);
    tracker.update([]);
    assert.deepEqual(ids(tracker.update([{ box: box(5, 0) }])), [1]);
    tracker.update([]);
    tracker.update([]);
    tracker.update([]);
    assert.deepEqual(ids(tracker.update([{ box: box(5, 0) }])), [2]);
  });

  test('greedy matching: the best overlap wins and one track takes one face', () => {
    const tracker = createTracker();
    tracker.update([{ box: box(0, 0) }]);
    // Both overlap track 1; the closer one keeps the id, the other starts a track.
    assert.deepEqual(ids(tracker.update([{ box: box(40, 0) }, { box: box(10, 0) }])), [2, 1]);
  });

  test('too little overlap (below minIou) is a different face', () => {
    const tracker = createTracker({ minIou: 0.5 });
    tracker.update([{ box: box(0, 0) }]);
    assert.deepEqual(ids(tracker.update([{ box: box(40, 0) }])), [2]); // IoU 0.43
  });

  test('the faces keep their other fields', () => {
    const tracker = createTracker();
    const [f] = tracker.update([{ box: box(0, 0), label: 'happy' }]);
    assert.equal(f.label, 'happy');
    assert.equal(f.id, 1);
  });
});

describe('the CSV export', () => {
  const scores = (top: string) => Object.fromEntries(LABELS.map((l) => [l, l === top ? 0.7 : 0.05])) as Record<string, number>;
  const samples = [
    {
      time: 0,
      faces: [
        { id: 2, box: { x: 300.4, y: 10, width: 99.6, height: 100 }, label: 'sad', scores: scores('sad') },
        { id: 1, box: { x: 0, y: 0, width: 100, height: 100 }, label: 'happy', scores: scores('happy') },
      ],
    },
    { time: 0.2, faces: [] },
    { time: 0.4, faces: [{ id: 1, box: { x: 2, y: 0, width: 100, height: 100 }, label: 'happy', scores: scores('happy') }] },
  ];

  test('header: time, face, box, the seven probabilities in FER2013 order, top label', () => {
    assert.deepEqual(CSV_COLUMNS, [
      'time_s',
      'face',
      'box_x',
      'box_y',
      'box_width',
      'box_height',
      'angry',
      'disgust',
      'fear',
      'happy',
      'sad',
      'surprise',
      'neutral',
      'label',
    ]);
    assert.equal(timelineCsv(samples).split('\n')[0], CSV_COLUMNS.join(','));
  });

  test('one row per face per sample, by face id; a sample without faces keeps its time', () => {
    const rows = timelineRows(samples);
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows.map((r) => [r[0], r[1]]),
      [
        ['0.000', '1'],
        ['0.000', '2'],
        ['0.200', ''],
        ['0.400', '1'],
      ],
    );
    assert.deepEqual(rows[1].slice(2, 6), ['300', '10', '100', '100']);
    assert.equal(rows[1][10], '0.7000');
    assert.equal(rows[1][13], 'sad');
    assert.ok(rows[2].slice(1).every((v) => v === ''));
    assert.ok(rows.every((r) => r.length === CSV_COLUMNS.length));
    assert.ok(timelineCsv(samples).endsWith('happy\n'));
  });
});
