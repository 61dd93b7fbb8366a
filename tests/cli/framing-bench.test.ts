/**
 * `npm run bench -- framing` on the real FER2013 (skipped when ../shared/data is absent):
 * a few PublicTest faces through the photo path, and the figures it reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import framing from '../../src/bench/sections/framing.js';
import { initBackend } from '../../src/tf/backend.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';

const REAL = path.resolve(PROJECT_ROOT, '../shared/data/fer2013/fer2013.csv.gz');
const noData = fs.existsSync(REAL) ? false : `no FER2013 at ${REAL}: the framing bench needs the real faces`;

test('without --set data the section says how to run it, and measures nothing', async () => {
  const r = await framing.run({ log: () => {}, quick: true, options: {} });
  assert.deepEqual(r.figures, []);
  assert.match(r.notes?.[0] ?? '', /--set data=/);
});

test('on real PublicTest faces: BlazeFace frames them, every margin is scored', { skip: noData, timeout: 300_000 }, async () => {
  await initBackend();
  const r = await framing.run({ log: () => {}, quick: true, options: { data: REAL, faces: '24', margins: '1,1.5' } });
  const fig = (id: string) => r.figures.find((f) => f.id === id);
  assert.equal(fig('faces')?.value, 24);
  // FER2013 frames faces tightly: the detector's box is most of the frame.
  const side = fig('box_side_p50')?.value ?? NaN;
  assert.ok(side > 0.6 && side < 1.2, `box side / frame ${side}`);
  // The detector's own margin (1.25) is added to the asked-for ones.
  for (const id of ['accuracy_direct', 'accuracy_margin_1', 'accuracy_margin_1.25', 'accuracy_margin_1.5']) {
    const v = fig(id)?.value;
    assert.ok(typeof v === 'number' && v >= 0 && v <= 100, `${id}: ${v}`);
  }
  assert.match(fig('accuracy_margin_1')?.note ?? '', /McNemar p = /);
});
