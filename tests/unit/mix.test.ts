/**
 * Mixup and cutmix: the mixing proportion's distribution, what a mixed batch holds, and that a
 * training step's loss on a mixed batch is the proportion's mix of the two labels' losses.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../../src/tf/backend.js';
import { mixBatch, sampleBeta, type MixSettings } from '../../src/training/mix.js';
import { mulberry32 } from '../../src/training/random.js';
import { trainStep } from '../../src/training/step.js';
import { buildCustomCnn, cnnInput } from '../../src/training/architectures/custom-cnn.js';
import { FACE_PIXELS } from '../../src/inference/preprocess.js';

function meanAndVariance(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, variance: xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length };
}

/** `count` faces of seeded random pixels (0-255). */
function randomFaces(count: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: count * FACE_PIXELS }, () => Math.floor(rng() * 256));
}

describe('sampleBeta', () => {
  for (const [a, b] of [
    [0.2, 0.2],
    [1, 1],
    [2, 5],
  ]) {
    test(`Beta(${a}, ${b}) has its mean and variance`, () => {
      const rng = mulberry32(7);
      const xs = Array.from({ length: 40_000 }, () => sampleBeta(rng, a, b));
      assert.ok(
        xs.every((x) => x >= 0 && x <= 1),
        'a draw outside [0, 1]',
      );
      const { mean, variance } = meanAndVariance(xs);
      const wantMean = a / (a + b),
        wantVariance = (a * b) / ((a + b) ** 2 * (a + b + 1));
      assert.ok(Math.abs(mean - wantMean) < 0.01, `mean ${mean}, want ${wantMean}`);
      assert.ok(Math.abs(variance - wantVariance) < 0.01, `variance ${variance}, want ${wantVariance}`);
    });
  }
});

describe('mixBatch', () => {
  const count = 6;

  test('mixup: every face is lam of itself and 1 - lam of its partner, partners a permutation', () => {
    const original = randomFaces(count, 1);
    const faces = original.slice();
    const { partner, lam } = mixBatch(faces, count, { kind: 'mixup', alpha: 0.2 }, mulberry32(3));
    assert.deepEqual([...partner].sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok(lam > 0 && lam < 1, `lam ${lam}`);
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < FACE_PIXELS; k += 97) {
        const want = lam * original[i * FACE_PIXELS + k] + (1 - lam) * original[partner[i] * FACE_PIXELS + k];
        assert.ok(Math.abs(faces[i * FACE_PIXELS + k] - want) < 1e-3, `face ${i} pixel ${k}: ${faces[i * FACE_PIXELS + k]} vs ${want}`);
      }
    }
  });

  test("cutmix: a rectangle of the partner's pixels, lam the share left of the face", () => {
    // Each face one grey level of its own, so every pixel says which face it came from.
    const original = new Float32Array(count * FACE_PIXELS);
    for (let i = 0; i < count; i++) original.fill(10 * (i + 1), i * FACE_PIXELS, (i + 1) * FACE_PIXELS);
    let pasted = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const faces = original.slice();
      const { partner, lam } = mixBatch(faces, count, { kind: 'cutmix', alpha: 1 }, mulberry32(seed));
      for (let i = 0; i < count; i++) {
        const face = faces.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS);
        const own = 10 * (i + 1),
          theirs = 10 * (partner[i] + 1);
        assert.ok(
          face.every((v) => v === own || v === theirs),
          `face ${i}: a pixel from neither face`,
        );
        if (partner[i] === i) continue;
        const fromPartner = face.filter((v) => v === theirs).length;
        assert.equal(lam, 1 - fromPartner / FACE_PIXELS, `seed ${seed} face ${i}`);
        pasted += fromPartner;
      }
    }
    assert.ok(pasted > 0, 'no rectangle was ever pasted');
  });

  test('the same seed mixes the same way', () => {
    const mix: MixSettings = { kind: 'mixup', alpha: 0.4 };
    const a = randomFaces(count, 2),
      b = a.slice();
    const ma = mixBatch(a, count, mix, mulberry32(9)),
      mb = mixBatch(b, count, mix, mulberry32(9));
    assert.deepEqual(ma, mb);
    assert.deepEqual(a, b);
  });
});

describe('trainStep on a mixed batch', () => {
  before(async () => {
    await initBackend('wasm');
  });

  test("its loss and accuracy are lam of the faces' labels and 1 - lam of the partners'", () => {
    const spec = cnnInput(16);
    const model = buildCustomCnn({ inputSize: 16, widths: [4, 8], convsPerBlock: [1, 1], dense: 8, seed: 5 });
    const opt = tf.train.sgd(0); // the weights stay as they are, so the three steps see the same network
    const count = 8;
    const faces = randomFaces(count, 4);
    const labels = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 3]);
    const classW = [1, 3, 1.2, 0.7, 1, 1.1, 0.9];
    const loss = { smoothing: 0.1, focalGamma: 0 };
    const split = { bottom: null, top: model };
    const mixed = mixBatch(faces, count, { kind: 'mixup', alpha: 0.4 }, mulberry32(11));
    const partnerLabels = Int32Array.from(mixed.partner, (p) => labels[p]);
    const both = trainStep(split, opt, faces, labels, spec, classW, loss, 0, mixed);
    const own = trainStep(split, opt, faces, labels, spec, classW, loss);
    const theirs = trainStep(split, opt, faces, partnerLabels, spec, classW, loss);
    opt.dispose();
    model.dispose();
    const { lam } = mixed;
    assert.ok(lam > 0.01 && lam < 0.99, `lam ${lam} leaves nothing to mix`);
    assert.ok(Math.abs(both.loss - (lam * own.loss + (1 - lam) * theirs.loss)) < 1e-4, `${both.loss} vs ${own.loss} / ${theirs.loss}`);
    assert.ok(Math.abs(both.correct - (lam * own.correct + (1 - lam) * theirs.correct)) < 1e-4);
    assert.notEqual(own.loss.toFixed(4), theirs.loss.toFixed(4), 'the two label sets must give different losses');
  });
});
