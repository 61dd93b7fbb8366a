/**
 * Flushing near-zero values (src/training/subnormals.ts): L2 under Adam does sink an unused weight and its moments
 * into the subnormal range, and a flush zeroes everything below its threshold in the weights and in the optimizer's
 * own slots, leaving every other value as it was.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { FLOAT32_MIN_NORMAL, FLUSH_BELOW, countSubnormals, flushNearZero, optimizerSlots } from '../../src/training/subnormals.js';

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
});

/** Optimizer steps on L2 alone, as a weight that reads a dead channel gets them; optionally flushing as the trainer does. */
function decay(w: tf.Variable, opt: tf.Optimizer, steps: number, flushEvery = 0, slots: () => tf.Variable[] = () => []): void {
  for (let i = 1; i <= steps; i++) {
    opt.minimize(() => tf.mul(tf.sum(tf.square(w)), 1e-4) as tf.Scalar, false, [w]);
    if (flushEvery > 0 && i % flushEvery === 0) flushNearZero([w, ...slots()]);
  }
}

describe('subnormal flushing', () => {
  test('L2 under Adam at a low rate sinks unused weights and their moments into the subnormal range', async () => {
    const w = tf.variable(tf.tensor1d([1e-30, -3e-31, 2e-30, 5e-31]));
    const opt = tf.train.adam(2e-4);
    decay(w, opt, 400);
    const slots = await optimizerSlots(opt);
    assert.equal(slots.length, 2, "Adam's two moments are the live slot variables");
    assert.ok(countSubnormals([w]) > 0, `weights: ${Array.from(w.dataSync()).join(', ')}`);
    assert.ok(countSubnormals(slots) > 0, 'moments');
    opt.dispose();
    w.dispose();
  });

  test('flushing every few steps keeps the weights and the slots free of them', async () => {
    const w = tf.variable(tf.tensor1d([1e-30, -3e-31, 2e-30, 5e-31]));
    const opt = tf.train.adam(2e-4);
    decay(w, opt, 1, 0); // Adam makes its slots on the first step
    const slots = await optimizerSlots(opt);
    decay(w, opt, 400, 16, () => slots);
    assert.equal(countSubnormals([w]), 0);
    assert.equal(countSubnormals(slots), 0);
    for (const t of [w, ...slots]) assert.ok(Array.from(t.dataSync()).every((x) => x === 0 || Math.abs(x) >= FLUSH_BELOW));
    opt.dispose();
    w.dispose();
  });

  test('a flush zeroes only the entries below its threshold, in place, and reaches the optimizer slots', async () => {
    const tiny = FLOAT32_MIN_NORMAL / 4;
    const values = [tiny, -tiny, FLOAT32_MIN_NORMAL, -1e-30, 0, 1.5, -2 * FLUSH_BELOW, 1e-45];
    const expected = [0, 0, 0, 0, 0, 1.5, -2 * FLUSH_BELOW, 0].map(Math.fround);
    const u = tf.variable(tf.tensor1d(values));
    const w = tf.variable(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8]));
    const opt = tf.train.momentum(0.1, 0.9);
    opt.minimize(() => tf.sum(w) as tf.Scalar, false, [w]);
    const [slot] = await optimizerSlots(opt);
    slot.assign(tf.tensor1d(values));
    assert.equal(countSubnormals([u, slot]), 6);
    flushNearZero([u, ...(await optimizerSlots(opt))]);
    assert.deepEqual(Array.from(u.dataSync()), expected);
    assert.deepEqual(Array.from(slot.dataSync()), expected, 'the optimizer itself sees the flushed slot');
    opt.dispose();
    tf.dispose([u, w]);
  });

  test('int32 variables are left alone', () => {
    const v = tf.variable(tf.tensor1d([1, 2], 'int32'));
    flushNearZero([v]);
    assert.deepEqual(Array.from(v.dataSync()), [1, 2]);
    v.dispose();
  });
});
