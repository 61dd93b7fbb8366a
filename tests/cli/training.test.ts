/**
 * Training and evaluation end to end on drawn synthetic faces: each
 * architecture learns; `--resume` continues the very same history; artifacts
 * are complete folders written atomically with the card of DESIGN.md; a run
 * interrupted by SIGINT checkpoints and exits 130, one killed by SIGKILL
 * leaves an intact checkpoint and no partial model, and both resume; the
 * metrics match a confusion matrix worked out by hand; `npm run evaluate --
 * --json` prints exactly the object of DESIGN.md.
 *
 * Kept small for a loaded 2-core machine: a 4/8-filter CNN, a few epochs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend, tf } from '../../src/tf/backend.js';
import { loadModelFolder } from '../../src/artifacts/model-folder.js';
import { recoverFolder, writeFolderAtomically } from '../../src/artifacts/atomic.js';
import { CYCLE_BEST_DIR, train, type TrainSettings, type TrainData } from '../../src/training/trainer.js';
import { cosineLr, cycleProgress } from '../../src/training/schedule.js';
import { reseedDropout } from '../../src/training/step.js';
import { phasesOf } from '../../src/training/architectures/index.js';
import { WeightAverage } from '../../src/training/weight-average.js';
import { CNN_DEFAULTS, MIX_ALPHA, TRAIN_DEFAULTS, TTA_MIN_GAIN } from '../../src/training/config.js';
import { checkOptions, settingsFromOptions } from '../../src/cli/train-options.js';
import { DEFAULT_AUGMENT, NO_AUGMENT } from '../../src/training/augment.js';
import { classWeights, epochOrder } from '../../src/training/imbalance.js';
import { loadCsv, trainValSplits } from '../../src/training/dataset.js';
import { evaluateSplit } from '../../src/training/evaluate.js';
import { confusionMatrix, metricsFromConfusion, argmaxRows } from '../../src/training/metrics.js';
import { loadTrainedModel } from '../../src/artifacts/model-folder.js';
import { readCard } from '../../src/artifacts/card.js';
import { LABELS } from '../../src/types.js';
import { makeSyntheticFaces, type SyntheticFaces } from '../helpers/synthetic-fer.js';
import { parseTrainArgs } from '../helpers/train-args.js';
import { expectedTta } from '../helpers/tta.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BASE = path.resolve(ROOT, '../shared/data/pretrained/mobilenet_v2_0.35_224_imagenet');
const TINY_CNN = { widths: [4, 8], convsPerBlock: [1, 1], dense: 16 };

let faces: SyntheticFaces;
let data: TrainData;
let work: string;

before(async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
  faces = await makeSyntheticFaces({ trainPerClass: 30, testPerClass: 8, folders: false, seed: 5 });
  const split = trainValSplits(await loadCsv(faces.csv), 1);
  data = { ...split, trainedOn: 'synthetic faces (tests)' };
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-train-'));
});
after(async () => {
  await faces?.cleanup();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

function settings(over: Partial<TrainSettings> = {}): TrainSettings {
  return {
    name: 'tiny-cnn',
    arch: 'cnn',
    epochs: 4,
    batchSize: 16,
    optimizer: 'adam',
    lr: 3e-3,
    momentum: 0.9,
    schedule: 'plateau',
    cosineCycle: 0,
    plateauPatience: 3,
    plateauFactor: 0.5,
    minLr: 1e-6,
    earlyStopPatience: 10,
    classWeight: 'none',
    sampling: 'none',
    loss: 'ce',
    focalGamma: 2,
    labelSmoothing: 0,
    ema: 0,
    augment: NO_AUGMENT,
    seed: 1,
    quantize: null,
    checkpointMinutes: 0,
    cnn: TINY_CNN,
    alpha: 0.35,
    inputSize: 48,
    base: null,
    headEpochs: 2,
    finetuneFrom: 12,
    finetuneLr: 1e-3,
    dropout: 0.1,
    ...over,
  };
}

/** Runs the trainer into work/<tag>/{runs,models}; returns the folders and the log. */
async function run(tag: string, s: TrainSettings, resume = false) {
  const runDir = path.join(work, tag, 'runs', s.name);
  const outDir = path.join(work, tag, 'models', s.name);
  const logs: string[] = [];
  const result = await train(s, data, { runDir, outDir, log: (m) => logs.push(m) }, resume);
  return { runDir, outDir, logs, ...result };
}

const ls = async (dir: string) => (await fs.readdir(dir)).sort();

async function adamIterations(runDir: string): Promise<number> {
  const ck = path.join(runDir, 'checkpoint');
  const specs = JSON.parse(await fs.readFile(path.join(ck, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
  assert.equal(specs[0].name, 'iter');
  const buf = await fs.readFile(path.join(ck, 'optimizer.bin'));
  return buf.readInt32LE(0);
}

describe('each architecture learns', () => {
  test('custom CNN: loss falls, validation accuracy well above chance (1/7)', async () => {
    const r = await run('cnn', settings());
    const h = r.state.history;
    assert.deepEqual(
      h.map((e) => e.epoch),
      [1, 2, 3, 4],
    );
    assert.ok(h[3].loss < h[0].loss * 0.8, `loss ${h.map((e) => e.loss.toFixed(3)).join(' ')}`);
    const best = Math.max(...h.map((e) => e.val_acc));
    assert.ok(best > 0.35, `best val_acc ${best.toFixed(3)}`);
    assert.equal(r.state.best.val_acc, best);
  });

  test('MobileNetV2 (48x48): the head learns on the ImageNet base, then fine-tuning runs', async (t) => {
    const haveBase = await fs.access(path.join(BASE, 'model.json')).then(
      () => true,
      () => false,
    );
    if (!haveBase) {
      // Random weights: the frozen base's batch-norm statistics are meaningless,
      // so only check the two phases run end to end.
      const r = await run('mnv2-random', settings({ name: 'mnv2', arch: 'mobilenetv2', inputSize: 32, epochs: 2, headEpochs: 1 }));
      assert.deepEqual(
        r.state.history.map((e) => e.phase),
        ['head', 'finetune'],
      );
      assert.ok(r.state.history.every((e) => Number.isFinite(e.loss)));
      t.skip(`${BASE} is absent: MobileNetV2 ran on random weights only; the "learns" check needs the ImageNet base`);
      return;
    }
    const r = await run('mnv2', settings({ name: 'mnv2', arch: 'mobilenetv2', base: BASE, epochs: 3, headEpochs: 2 }));
    assert.ok(
      r.logs.some((l) => /copied 260 ImageNet weight tensors/.test(l)),
      r.logs.join('\n'),
    );
    const h = r.state.history;
    assert.deepEqual(
      h.map((e) => e.phase),
      ['head', 'head', 'finetune'],
    );
    assert.ok(h[1].loss < h[0].loss, `head loss ${h[0].loss} -> ${h[1].loss}`);
    const headBest = Math.max(h[0].val_acc, h[1].val_acc);
    assert.ok(headBest > 0.3, `head val_acc ${headBest.toFixed(3)}`);
    assert.ok(Number.isFinite(h[2].loss));
    // The best head-only model is kept as <name>-frozen, next to <name>.
    const frozen = await loadTrainedModel(path.join(path.dirname(r.outDir), 'mnv2-frozen'));
    assert.equal(frozen.card.name, 'mnv2-frozen');
    assert.deepEqual(frozen.card.input, { size: 48, channels: 3, normalisation: 'symmetric' });
    assert.deepEqual(
      frozen.card.history.map((e) => e.phase),
      ['head', 'head'].slice(0, frozen.card.history.length),
    );
    frozen.model.dispose();
  });
});

describe('rare classes: class weights, oversampling, focal loss; --init', () => {
  // 700 rows: class k has (k + 1) * 25 faces, so class 0 is 7x rarer than class 6.
  const labels = Uint8Array.from({ length: 700 }, (_, i) => {
    let k = 0,
      c = 25;
    while (i >= c) {
      k++;
      c += (k + 1) * 25;
    }
    return k;
  });
  const skewed = {
    pixels: new Uint8Array(0),
    labels,
    get size() {
      return labels.length;
    },
  };
  const drawn = (order: Uint32Array) => {
    const c = new Array(7).fill(0);
    for (const i of order) c[labels[i]]++;
    return c;
  };

  test('class weights average 1 per image; balanced = 1/frequency, sqrt its root', () => {
    for (const mode of ['balanced', 'sqrt'] as const) {
      const w = classWeights(skewed, mode);
      const mean = w.reduce((s, x, k) => s + x * (k + 1) * 25, 0) / 700;
      assert.ok(Math.abs(mean - 1) < 1e-9, `${mode}: mean ${mean}`);
      const ratio = w[0] / w[6];
      assert.ok(Math.abs(ratio - (mode === 'balanced' ? 7 : Math.sqrt(7))) < 1e-9, `${mode}: w0/w6 ${ratio}`);
    }
    assert.deepEqual(classWeights(skewed, 'none'), new Array(7).fill(1));
  });

  test('an epoch order: a permutation without oversampling; balanced draws every class about equally; same seed, same order', () => {
    const plain = epochOrder(skewed, 'none', 3, 1);
    assert.deepEqual(
      [...plain].sort((a, b) => a - b),
      [...Array(700).keys()],
    );
    const bal = epochOrder(skewed, 'balanced', 3, 1);
    assert.equal(bal.length, 700);
    for (const c of drawn(bal)) assert.ok(c > 70 && c < 130, `balanced counts ${drawn(bal).join(' ')}`);
    const sq = drawn(epochOrder(skewed, 'sqrt', 3, 1));
    assert.ok(sq[0] > 25 * 1.6 && sq[6] < 175, `sqrt counts ${sq.join(' ')}`);
    assert.deepEqual(epochOrder(skewed, 'balanced', 3, 1), bal);
    assert.notDeepEqual(epochOrder(skewed, 'balanced', 3, 2), bal);
  });

  test("focal loss and oversampling train; --init starts from a model folder's weights", async () => {
    const first = await run('focal', settings({ name: 'focal', epochs: 3, loss: 'focal', sampling: 'sqrt' }));
    const h = first.state.history;
    assert.ok(h[2].loss < h[0].loss, `focal loss ${h.map((e) => e.loss.toFixed(3)).join(' ')}`);
    assert.ok(first.state.best.val_acc > 0.3, `val_acc ${first.state.best.val_acc}`);
    // Warm start from the artifact: epoch 1 of the new run starts where the old one ended.
    const warm = await run('warm', settings({ name: 'warm', epochs: 1, lr: 1e-4, init: first.outDir }));
    assert.ok(
      warm.logs.some((l) => l.includes(`started from the weights in ${first.outDir}`)),
      warm.logs.join('\n'),
    );
    assert.ok(warm.state.history[0].val_acc > 0.3, `warm-started val_acc ${warm.state.history[0].val_acc}`);
    // Its card tells the whole training: the earlier run's epochs, then this one's, numbered on.
    const before = await readCard(first.outDir),
      card = await readCard(warm.outDir);
    assert.deepEqual(
      card.history.map((e) => e.epoch),
      [...before.history.map((e) => e.epoch), before.history.length + 1],
    );
    assert.equal(card.history.at(-1)!.lr, 1e-4);
    assert.match(card.notes ?? '', /Warm start: epochs 1-\d of the history are the earlier run/);
    // A chain of warm starts from checkpoints keeps the whole history too.
    const third = await run('third', settings({ name: 'third', epochs: 1, lr: 5e-5, init: path.join(warm.runDir, 'checkpoint') }));
    const thirdCard = await readCard(third.outDir);
    assert.deepEqual(
      thirdCard.history.map((e) => e.lr),
      [...card.history.map((e) => e.lr), 5e-5],
    );
    assert.ok(thirdCard.train_seconds! >= card.train_seconds!);
    await assert.rejects(
      run('bad-init', settings({ name: 'bad', epochs: 1, cnn: { widths: [4], convsPerBlock: [1], dense: 16 }, init: first.outDir })),
      /--init .*do not fit this architecture/,
    );
  });
});

describe('mixing faces (--mix)', () => {
  test('mixup and cutmix runs learn and record the mixing in their settings; --resume continues a mixup run exactly', async () => {
    for (const kind of ['mixup', 'cutmix'] as const) {
      const r = await run(`mix-${kind}`, settings({ name: `mix-${kind}`, epochs: 4, mix: { kind, alpha: MIX_ALPHA[kind] } }));
      const h = r.state.history;
      assert.ok(h[3].loss < h[0].loss, `${kind} loss ${h.map((e) => e.loss.toFixed(3)).join(' ')}`);
      // Well above chance (1/7), if below plain runs: cutmix hides part of each face from these tiny runs.
      assert.ok(r.state.best.val_acc > 0.2, `${kind} val_acc ${h.map((e) => e.val_acc.toFixed(3)).join(' ')}`);
      assert.deepEqual((await readCard(r.outDir)).settings?.mix, { kind, alpha: MIX_ALPHA[kind] });
    }
    // The mixing draws come from the seeded augmentation stream, so a resumed run repeats them.
    const s = settings({ name: 'mix-resume', epochs: 2, mix: { kind: 'mixup', alpha: 0.4 } });
    const straight = await run('mix-straight', { ...s, epochs: 3 });
    await run('mix-resumed', s);
    const resumed = await run('mix-resumed', { ...s, epochs: 3 }, true);
    const a = straight.state.history,
      b = resumed.state.history;
    assert.equal(b.length, 3);
    for (let i = 0; i < 3; i++) {
      for (const k of ['loss', 'acc', 'val_loss', 'val_acc'] as const) {
        assert.ok(Math.abs(a[i][k] - b[i][k]) <= 1e-5 * Math.max(1, Math.abs(a[i][k])), `epoch ${i + 1} ${k}: ${a[i][k]} vs ${b[i][k]}`);
      }
    }
  });

  test('the options resolve to the settings: no mix key unless asked for, each kind its own default alpha', () => {
    const resolve = (...extra: string[]) => {
      const o = parseTrainArgs(['--data', 'x.csv', ...extra]);
      checkOptions(o);
      return settingsFromOptions(o, 0);
    };
    assert.equal('mix' in resolve(), false);
    assert.deepEqual(resolve('--mix', 'mixup').mix, { kind: 'mixup', alpha: MIX_ALPHA.mixup });
    assert.deepEqual(resolve('--mix', 'cutmix').mix, { kind: 'cutmix', alpha: MIX_ALPHA.cutmix });
    assert.deepEqual(resolve('--mix', 'cutmix', '--mix-alpha', '0.5').mix, { kind: 'cutmix', alpha: 0.5 });
    assert.throws(() => resolve('--mix-alpha', '0.5'), /--mix-alpha needs --mix mixup or --mix cutmix/);
    assert.throws(() => resolve('--mix', 'mixup', '--mix-alpha', '0'), /Expected a number above 0/);
  });
});

describe('distillation (--teacher)', () => {
  test('a run with a teacher learns and records it in its settings; --resume continues exactly on the saved teacher rows', async () => {
    const teacherRun = await run('kd-teacher', settings({ name: 'kd-teacher', epochs: 3 }));
    const teacher = { model: teacherRun.outDir, weight: 0.5 };
    const r = await run('kd-student', settings({ name: 'kd-student', epochs: 3, teacher }));
    assert.ok(
      r.logs.some((l) => /^teacher .*kd-teacher: \d+ training faces scored/.test(l)),
      r.logs.join('\n'),
    );
    assert.ok(r.state.best.val_acc > 0.3, `val_acc ${r.state.history.map((e) => e.val_acc.toFixed(3)).join(' ')}`);
    // The card names the teacher's folder, not where it was on the training machine.
    assert.deepEqual((await readCard(r.outDir)).settings?.teacher, { ...teacher, model: 'kd-teacher' });
    // The teacher's rows decide the targets, so a resumed run must see the very same ones.
    const s = settings({ name: 'kd-resume', epochs: 2, teacher });
    await run('kd-resumed', s);
    // The resume trains on the rows its start saved: it needs the teacher's folder no more.
    await fs.rm(teacherRun.outDir, { recursive: true });
    const resumed = await run('kd-resumed', { ...s, epochs: 3 }, true);
    assert.ok(
      resumed.logs.some((l) => /the run's saved rows/.test(l)),
      resumed.logs.join('\n'),
    );
    const a = r.state.history,
      b = resumed.state.history;
    for (let i = 0; i < 3; i++) {
      for (const k of ['loss', 'val_acc'] as const) {
        assert.ok(Math.abs(a[i][k] - b[i][k]) <= 1e-5 * Math.max(1, Math.abs(a[i][k])), `epoch ${i + 1} ${k}: ${a[i][k]} vs ${b[i][k]}`);
      }
    }
  });

  test('the options resolve to the settings: no teacher key unless asked for, a weight in (0, 1]', () => {
    const resolve = (...extra: string[]) => {
      const o = parseTrainArgs(['--data', 'x.csv', ...extra]);
      checkOptions(o);
      return settingsFromOptions(o, 0);
    };
    assert.equal('teacher' in resolve(), false);
    assert.deepEqual(resolve('--teacher', 'models/ensemble').teacher, { model: 'models/ensemble', weight: TRAIN_DEFAULTS.teacherWeight });
    assert.deepEqual(resolve('--teacher', 'm', '--teacher-weight', '1').teacher, { model: 'm', weight: 1 });
    assert.throws(() => resolve('--teacher-weight', '0.5'), /--teacher-weight needs --teacher/);
    assert.throws(() => resolve('--teacher', 'm', '--teacher-weight', '0'), /--teacher-weight must be above 0 and at most 1/);
    assert.throws(() => resolve('--teacher', 'm', '--teacher-weight', '1.5'), /--teacher-weight must be above 0 and at most 1/);
  });
});

describe('near-zero values', () => {
  test('the trainer zeroes them every 16 steps, counted across epochs (at lr 0 nothing else changes the weights)', async () => {
    const first = await run('flush-src', settings({ name: 'flush-src', epochs: 1 }));
    // The first weight of the artifact is block1_conv1's kernel: plant a subnormal and a near-subnormal value.
    const file = path.join(first.outDir, 'weights.bin');
    const buf = await fs.readFile(file);
    const w = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const normal = w[2];
    w[0] = 1e-39;
    w[1] = -1e-25;
    await fs.writeFile(file, buf);
    // 210 faces at batch 16: 14 steps an epoch, so the 16th step falls in epoch 2.
    const r = await run('flush', settings({ name: 'flush', epochs: 2, lr: 0, init: first.outDir }));
    const ck = await loadModelFolder(path.join(r.runDir, 'checkpoint'));
    const kernel = ck.getWeights()[0].dataSync();
    assert.equal(kernel[0], 0);
    assert.equal(kernel[1], 0);
    assert.equal(kernel[2], normal, 'other weights are untouched');
    ck.dispose();
  });
});

describe('learning-rate schedules', () => {
  test('cosine: from the base rate down to the minimum, by phase', () => {
    assert.equal(cosineLr(1e-3, 1e-5, 0), 1e-3);
    assert.ok(Math.abs(cosineLr(1e-3, 1e-5, 1) - 1e-5) < 1e-12);
    assert.ok(Math.abs(cosineLr(1e-3, 0, 0.5) - 5e-4) < 1e-12);
    const phases = phasesOf({ ...settings({ arch: 'mobilenetv2', epochs: 10, headEpochs: 2 }), name: 'm' });
    // Fine-tuning (epochs 3-10) starts its own cosine at its first epoch.
    assert.equal(cycleProgress(phases, phases[1], 0, 3, 0), 0);
    assert.equal(cycleProgress(phases, phases[1], 0, 10, 1), 1);
    assert.equal(cycleProgress(phases, phases[0], 0, 2, 0.5), 0.75);
  });

  test('cosine cycles: the rate restarts after each cycle; a cycle longer than its phase is the phase', () => {
    const phases = phasesOf({ ...settings({ arch: 'mobilenetv2', epochs: 10, headEpochs: 2 }), name: 'm' });
    // Fine-tuning (epochs 3-10) in two cycles of 4: epochs 3-6 and 7-10.
    assert.equal(cycleProgress(phases, phases[1], 4, 6, 0.5), 3.5 / 4);
    assert.equal(cycleProgress(phases, phases[1], 4, 7, 0), 0);
    assert.equal(cycleProgress(phases, phases[1], 4, 10, 0.5), 3.5 / 4);
    // The 2-epoch head phase keeps one cycle over its own epochs.
    assert.equal(cycleProgress(phases, phases[0], 4, 2, 0.5), 0.75);
  });

  test('a cosine run lowers the rate every epoch and ends near the minimum', async () => {
    const { state } = await run('cosine', settings({ schedule: 'cosine', epochs: 3, lr: 3e-3, minLr: 1e-5 }));
    const lrs = state.history.map((e) => e.lr);
    assert.ok(lrs[0] > lrs[1] && lrs[1] > lrs[2], lrs.join(' > '));
    assert.ok(lrs[2] < 3e-3 * 0.05, `last epoch ends at ${lrs[2]}`);
  });

  test('cosine cycles: a warm restart after each cycle, and the run is not stopped mid-cycle', async () => {
    // Patience 1 would stop a plateau run after any epoch without gain; a cosine run only stops at a cycle's end.
    const { state } = await run(
      'cycles',
      settings({ schedule: 'cosine', cosineCycle: 2, epochs: 4, lr: 3e-3, minLr: 1e-5, earlyStopPatience: 1 }),
    );
    const lrs = state.history.map((e) => e.lr);
    assert.equal(lrs.length, 4, `ran ${lrs.length} of 4 epochs`);
    assert.ok(lrs[0] > lrs[1] && lrs[2] > lrs[1] && lrs[2] > lrs[3], lrs.join(', '));
    assert.ok(Math.abs(lrs[2] - lrs[0]) < 1e-9, 'the second cycle starts where the first did');
  });

  test("cosine cycles: each cycle's best epoch is kept as a servable folder beside the checkpoint", async () => {
    const { state, runDir } = await run('cycle-best', settings({ schedule: 'cosine', cosineCycle: 2, epochs: 4, lr: 3e-3, minLr: 1e-5 }));
    const kept = path.join(runDir, CYCLE_BEST_DIR);
    assert.deepEqual(await ls(kept), ['train-cycle1', 'train-cycle2']);
    for (const [i, name] of ['train-cycle1', 'train-cycle2'].entries()) {
      const epochs = state.history.slice(2 * i, 2 * i + 2);
      const best = epochs.reduce((a, b) => (b.val_acc > a.val_acc ? b : a));
      const card = await readCard(path.join(kept, name));
      assert.equal(card.name, `tiny-cnn-${name}`);
      assert.equal(
        Object.values(card.metrics)[0]?.accuracy,
        best.val_acc,
        `${name}: the best of epochs ${epochs.map((e) => e.epoch).join(', ')}`,
      );
      assert.equal(card.history.at(-1)?.epoch, best.epoch);
      // The weights on disk are that epoch's: measured again, they score what the card says.
      const { model } = await loadTrainedModel(path.join(kept, name));
      assert.equal((await evaluateSplit(model, card.input, data.val)).accuracy, best.val_acc);
      model.dispose();
    }
    assert.deepEqual(Object.keys(state.bestPerCycle ?? {}).sort(), ['train-cycle1', 'train-cycle2']);
  });

  test('a run of one cosine cycle (or another schedule) keeps no cycle folders', async () => {
    const { runDir } = await run('one-cycle', settings({ schedule: 'cosine', epochs: 2 }));
    assert.deepEqual(await ls(runDir), ['checkpoint']);
    const plateau = await run('plateau-no-cycles', settings({ schedule: 'plateau', cosineCycle: 1, epochs: 2 }));
    assert.deepEqual(await ls(plateau.runDir), ['checkpoint']);
  });
});

describe('weight average (--ema)', () => {
  test('averages each step in, and lends the average to the model only inside withAveraged', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 2, inputShape: [3], kernelInitializer: 'zeros', biasInitializer: 'zeros' })],
    });
    const avg = new WeightAverage(model, 0.5);
    model.setWeights(model.getWeights().map((w) => tf.onesLike(w)));
    avg.update(1000); // past the ramp-up: decay 0.5
    const inside = await avg.withAveraged(async () => model.getWeights().map((w) => [...w.dataSync()]));
    assert.deepEqual(inside.flat(), new Array(8).fill(0.5));
    assert.deepEqual(
      model
        .getWeights()
        .map((w) => [...w.dataSync()])
        .flat(),
      new Array(8).fill(1),
      'live weights are back',
    );
    avg.update(0); // first step of a run: decay (1 + 0) / 10 = 0.1
    assert.ok(Math.abs(avg.named()[0].tensor.dataSync()[0] - (0.5 * 0.1 + 0.9)) < 1e-6);
    avg.dispose();
    model.dispose();
  });

  test('a run with --ema evaluates and exports the average, and --resume continues it exactly', async () => {
    const s = settings({ ema: 0.9, epochs: 2 });
    const straight = await run('ema-straight', s);
    const first = await run('ema-resumed', { ...s, epochs: 1 });
    assert.ok((await ls(path.join(first.runDir, 'checkpoint'))).includes('average.bin'));
    const second = await run('ema-resumed', s, true);
    assert.deepEqual(
      second.state.history.map((e) => e.val_loss),
      straight.state.history.map((e) => e.val_loss),
    );
    // The artifact holds the average, not the last step's weights (which the checkpoint holds).
    const artifact = await loadModelFolder(second.outDir);
    const live = await loadModelFolder(path.join(second.runDir, 'checkpoint'));
    // Each epoch also records the live weights' accuracy: at the end, the checkpoint's weights.
    const card = await readCard(second.outDir);
    const liveVal = await evaluateSplit(live, card.input, data.val);
    assert.equal(second.state.history.at(-1)?.val_acc_live, liveVal.accuracy);
    const differ = artifact.getWeights().some((w, i) => tf.max(tf.abs(tf.sub(w, live.getWeights()[i]))).dataSync()[0] > 1e-6);
    artifact.dispose();
    live.dispose();
    assert.ok(differ, 'exported weights equal the live weights');
    const plain = await run('ema-off', { ...s, ema: 0 });
    assert.ok(
      plain.state.history.every((e) => e.val_acc_live === undefined),
      'val_acc_live without an average',
    );
    assert.notDeepEqual(
      plain.state.history.map((e) => e.val_loss),
      straight.state.history.map((e) => e.val_loss),
    );
  });
});

describe('dropout', () => {
  test("a fresh mask every step (TF.js repeats a fixed seed's mask), the same mask for the same step", () => {
    const model = tf.sequential({ layers: [tf.layers.dropout({ inputShape: [64], rate: 0.5, seed: 7 })] });
    const mask = (step: number) => {
      reseedDropout(model, 1, step);
      return tf.tidy(() => Array.from((model.apply(tf.ones([1, 64]), { training: true }) as tf.Tensor).dataSync()).join());
    };
    assert.notEqual(mask(0), mask(1));
    assert.equal(mask(5), mask(5));
    model.dispose();
  });
});

describe('--resume continues the same history', () => {
  test('custom CNN (augmentation, dropout): 2 epochs + resume to 4 equals 4 straight epochs', async () => {
    const s = settings({ augment: DEFAULT_AUGMENT, cnn: { ...TINY_CNN, dropout: 0.3 } });
    const straight = await run('straight', s);
    const first = await run('resumed', { ...s, epochs: 2 });
    assert.equal(first.state.history.length, 2);
    const batches = Math.ceil(data.train.size / s.batchSize);
    assert.equal(await adamIterations(first.runDir), 2 * batches);
    const second = await run('resumed', s, true);
    assert.ok(second.logs[0].startsWith('resuming tiny-cnn after epoch 2'), second.logs[0]);
    const a = straight.state.history,
      b = second.state.history;
    assert.deepEqual(
      b.map((e) => e.epoch),
      [1, 2, 3, 4],
    );
    // Optimizer state restored: Adam's step count carried on, not restarted.
    assert.equal(await adamIterations(second.runDir), 4 * batches);
    for (let i = 0; i < 4; i++) {
      for (const k of ['loss', 'acc', 'val_loss', 'val_acc', 'lr'] as const) {
        assert.ok(Math.abs(a[i][k] - b[i][k]) <= 1e-5 * Math.max(1, Math.abs(a[i][k])), `epoch ${i + 1} ${k}: ${a[i][k]} vs ${b[i][k]}`);
      }
    }
  });

  test('a command that builds another input size cannot resume the run: a clear error, the checkpoint untouched', async () => {
    const s = settings({ name: 'other-size', epochs: 1, cnn: { ...TINY_CNN, inputSize: 32 } });
    const first = await run('other-size', s);
    const before = await fs.readFile(path.join(first.runDir, 'checkpoint', 'state.json'), 'utf8');
    // 32 and 34 pool to the same 8x8 map before the dense layer, so the weights alone would fit.
    await assert.rejects(run('other-size', { ...s, epochs: 2, cnn: { ...TINY_CNN, inputSize: 34 } }, true), (e: Error) => {
      assert.match(
        e.message,
        /^--resume: the checkpoint in .* does not fit the model this command builds \(its input is 32x32x1, this command's model takes 34x34x1\)/,
      );
      return true;
    });
    assert.equal(await fs.readFile(path.join(first.runDir, 'checkpoint', 'state.json'), 'utf8'), before);
  });

  test('MobileNetV2: interrupted in the head phase, resumed through fine-tuning', async (t) => {
    const haveBase = await fs.access(path.join(BASE, 'model.json')).then(
      () => true,
      () => false,
    );
    if (!haveBase) {
      t.skip(`${BASE} is absent`);
      return;
    }
    const s = settings({ name: 'mnv2', arch: 'mobilenetv2', base: BASE, inputSize: 32, epochs: 3, headEpochs: 2 });
    const first = await run('mnv2-resume', { ...s, epochs: 1 });
    assert.deepEqual(
      first.state.history.map((e) => e.phase),
      ['head'],
    );
    const second = await run('mnv2-resume', s, true);
    assert.deepEqual(
      second.state.history.map((e) => [e.epoch, e.phase]),
      [
        [1, 'head'],
        [2, 'head'],
        [3, 'finetune'],
      ],
    );
    // The fine-tuning optimizer starts fresh (its own variables): 1 epoch of steps.
    assert.equal(await adamIterations(second.runDir), Math.ceil(data.train.size / s.batchSize));
  });
});

describe('artifacts', () => {
  test('models/<name>/ is complete, no temporary folders, card.json as DESIGN.md says', async () => {
    const r = await run('artifact', settings({ epochs: 2 }));
    assert.deepEqual(await ls(r.outDir), ['card.json', 'model.json', 'weights.bin']);
    assert.deepEqual(await ls(path.dirname(r.outDir)), ['tiny-cnn']);
    assert.deepEqual(await ls(path.dirname(r.runDir)), ['tiny-cnn']);
    assert.deepEqual(await ls(r.runDir), ['checkpoint']);
    assert.deepEqual(await ls(path.join(r.runDir, 'checkpoint')), [
      'model.json',
      'optimizer.bin',
      'optimizer.json',
      'state.json',
      'weights.bin',
    ]);

    const card = JSON.parse(await fs.readFile(path.join(r.outDir, 'card.json'), 'utf8'));
    for (const key of ['name', 'arch', 'input', 'labels', 'trained_on', 'params', 'created', 'metrics', 'history']) {
      assert.ok(key in card, `card.json has no "${key}"`);
    }
    assert.equal(card.name, 'tiny-cnn');
    assert.equal(card.arch, 'cnn');
    assert.deepEqual(card.input, { size: CNN_DEFAULTS.inputSize, channels: 1, normalisation: 'unit' });
    assert.deepEqual(card.labels, [...LABELS]);
    assert.equal(card.trained_on, 'synthetic faces (tests)');
    assert.ok(!Number.isNaN(Date.parse(card.created)));
    const { model } = await loadTrainedModel(r.outDir);
    assert.equal(card.params, model.countParams());
    assert.deepEqual(Object.keys(card.metrics), ['PublicTest']);
    const m = card.metrics.PublicTest;
    for (const key of ['accuracy', 'macro_f1', 'per_class', 'confusion']) assert.ok(key in m, `metrics.PublicTest has no "${key}"`);
    assert.deepEqual(Object.keys(m.per_class), [...LABELS]);
    for (const l of LABELS) assert.deepEqual(Object.keys(m.per_class[l]).sort(), ['f1', 'precision', 'recall', 'support']);
    assert.equal(m.confusion.length, 7);
    assert.ok(m.confusion.every((row: number[]) => row.length === 7));
    assert.equal(card.history.length, 2);
    for (const e of card.history) {
      for (const key of ['epoch', 'loss', 'acc', 'val_loss', 'val_acc', 'lr']) assert.equal(typeof e[key], 'number', `history.${key}`);
    }
    // The finished run chose its TTA: the card's metrics are those of the saved weights on PublicTest as served,
    // and without TTA they are the best epoch's.
    assert.ok(r.logs.some((l) => /tiny-cnn: TTA on PublicTest, accuracy none .*, flip .*, shift .*: served with/.test(l)));
    const choice = card.tta_choice;
    assert.equal(choice.min_gain, TTA_MIN_GAIN);
    assert.equal(card.tta, expectedTta(choice));
    const again = await evaluateSplit(model, card.input, data.val, { tta: card.tta });
    assert.equal(again.accuracy, m.accuracy);
    assert.deepEqual(again.confusion, m.confusion);
    const bestEpoch = Math.max(...card.history.map((e: { val_acc: number }) => e.val_acc));
    assert.equal(choice.none.accuracy, Math.round(bestEpoch * 1e4) / 1e4);
    await readCard(r.outDir);
    model.dispose();
  });

  test('a failed write leaves the previous folder intact and no temporary folder', async () => {
    const dir = path.join(work, 'atomic', 'thing');
    await writeFolderAtomically(dir, { 'a.txt': 'one', 'b.txt': 'one' });
    await assert.rejects(writeFolderAtomically(dir, { 'a.txt': 'two', 'missing/b.txt': 'two' }));
    assert.deepEqual(await ls(path.dirname(dir)), ['thing']);
    assert.equal(await fs.readFile(path.join(dir, 'a.txt'), 'utf8'), 'one');
    await writeFolderAtomically(dir, { 'c.txt': 'three' });
    assert.deepEqual(await ls(dir), ['c.txt']);
    assert.deepEqual(await ls(path.dirname(dir)), ['thing']);
  });

  test('temporary folders left by a killed writer are cleared, a swap cut in half is undone', async () => {
    const dir = path.join(work, 'stale', 'ckpt');
    await writeFolderAtomically(dir, { 'x.txt': 'old' });
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
    // A write killed half way (files incomplete), and a swap killed between its two renames.
    await fs.mkdir(path.join(work, 'stale', `.ckpt.tmp-${deadPid}-aaaa`));
    await writeFolderAtomically(dir, { 'x.txt': 'new' });
    assert.deepEqual(await ls(path.join(work, 'stale')), ['ckpt']);

    const swap = path.join(work, 'stale', `.ckpt.tmp-${deadPid}-bbbb`);
    await fs.rename(dir, `${swap}.old`);
    await fs.mkdir(swap);
    await fs.writeFile(path.join(swap, 'x.txt'), 'newest');
    await recoverFolder(dir);
    assert.deepEqual(await ls(path.join(work, 'stale')), ['ckpt']);
    assert.equal(await fs.readFile(path.join(dir, 'x.txt'), 'utf8'), 'newest');
  });
});

// ---------------------------------------------------------------------------
// The CLI as a user runs it: interrupted, killed, resumed.

/** Training faces of the CLI runs (batch 4): epochs of a few seconds, so a signal lands mid-epoch. */
const FACES = 420;

interface Proc {
  child: ChildProcess;
  out: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(script: string, args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, TFJS_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  let partial = '';
  const onData = (b: Buffer) => {
    const text = partial + b.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    out.push(...lines);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      if (partial) out.push(partial);
      resolve({ code, signal });
    });
  });
  return { child, out, done };
}

async function waitFor(p: Proc, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const line = p.out.find((l) => re.test(l));
    if (line) return line;
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`exited before ${re}:\n${p.out.join('\n')}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re}:\n${p.out.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the end-of-epoch line of `epoch`, then for about 40% of that
 * epoch's duration: the next epoch is then well under way (the trainer's log
 * lines are the stable markers; the progress display may change).
 */
async function intoNextEpoch(p: Proc, epoch: number): Promise<void> {
  const line = await waitFor(p, new RegExp(`^epoch ${epoch}/\\d+ \\[train\\] .* \\| (\\d+) s \\(([\\d.]+) img/s\\)`));
  const m = /\| (\d+) s \(([\d.]+) img\/s\)/.exec(line)!;
  const seconds = Number(m[2]) > 0 ? FACES / Number(m[2]) : Number(m[1]);
  await sleep(Math.max(500, 400 * seconds));
}

describe('the train CLI: SIGINT, SIGKILL, --resume', () => {
  let big: SyntheticFaces;
  let cli: string;
  before(async () => {
    // Enough faces (and batch 4) for epochs of a few seconds, so a signal lands mid-epoch.
    big = await makeSyntheticFaces({ trainPerClass: FACES / 7, testPerClass: 6, folders: false, seed: 9 });
    cli = path.join(work, 'cli');
  });
  after(async () => {
    await big?.cleanup();
  });

  const args = (epochs: number, extra: string[] = []) => [
    '--arch',
    'cnn',
    '--data',
    big.csv,
    '--runs',
    path.join(cli, 'runs'),
    '--out',
    path.join(cli, 'models', 'tiny'),
    '--name',
    'tiny',
    '--cnn-widths',
    '4,8',
    '--cnn-convs',
    '1,1',
    '--batch-size',
    '4',
    '--epochs',
    String(epochs),
    '--no-augment',
    '--checkpoint-minutes',
    '0',
    '--backend',
    'wasm',
    ...extra,
  ];
  const ckpt = () => path.join(cli, 'runs', 'tiny', 'checkpoint');
  const batches = Math.ceil(FACES / 4);
  const readState = async () => JSON.parse(await fs.readFile(path.join(ckpt(), 'state.json'), 'utf8'));

  test('SIGINT mid-epoch: a checkpoint at that batch, exit code 130', async () => {
    const p = start('src/cli/train.ts', args(4));
    await intoNextEpoch(p, 1);
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const { code, signal } = await p.done;
    const log = p.out.join('\n');
    assert.equal(signal, null, log);
    assert.equal(code, 130, log);
    // Seen at the next batch, not at the end of the epoch.
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms to stop`);
    const saved = /checkpoint saved in .* \(epoch 2, batch (\d+)\/(\d+)\); continue with --resume/.exec(log);
    assert.ok(saved, log);
    assert.equal(Number(saved[2]), batches);
    const state = await readState();
    assert.equal(state.epoch, 1);
    assert.equal(state.batch, Number(saved[1]));
    assert.ok(state.batch > 0 && state.batch < batches, `checkpoint at batch ${state.batch} of ${batches}: not mid-epoch`);
    assert.equal(state.history.length, 1);
  });

  test('SIGKILL mid-epoch (mid-epoch checkpoints every ~0.1 s): the checkpoint stays intact, no partial model', async () => {
    const p = start('src/cli/train.ts', args(4, ['--resume', '--checkpoint-minutes', '0.002']));
    await waitFor(p, /^resuming tiny after epoch 1, batch \d+/);
    await intoNextEpoch(p, 2);
    p.child.kill('SIGKILL');
    const { signal } = await p.done;
    assert.equal(signal, 'SIGKILL');
    // Whatever the kill interrupted, the checkpoint is whole: state, model and optimizer read back.
    const state = await readState();
    assert.equal(state.epoch, 2, `state after kill: epoch ${state.epoch}, batch ${state.batch}`);
    assert.equal(state.history.length, 2);
    const model = await loadModelFolder(ckpt());
    model.dispose();
    JSON.parse(await fs.readFile(path.join(ckpt(), 'optimizer.json'), 'utf8'));
    // The artifact is a complete model or absent, never half written.
    const out = path.join(cli, 'models', 'tiny');
    const files = await ls(out).catch(() => [] as string[]);
    if (files.length > 0) {
      assert.deepEqual(files, ['card.json', 'model.json', 'weights.bin']);
      (await loadTrainedModel(out)).model.dispose();
    }
  });

  test('--resume after the kill finishes the run with one continuous history', async () => {
    const p = start('src/cli/train.ts', args(4, ['--resume']));
    const { code } = await p.done;
    const log = p.out.join('\n');
    assert.equal(code, 0, log);
    assert.match(log, /resuming tiny after epoch 2/);
    const card = await readCard(path.join(cli, 'models', 'tiny'));
    const state = await readState();
    assert.deepEqual(
      state.history.map((e: { epoch: number }) => e.epoch),
      [1, 2, 3, 4],
    );
    assert.equal(state.epoch, 4);
    assert.ok(card.history.length >= 1 && card.history.every((e, i) => e.epoch === i + 1));
    // No temporary folders anywhere (the killed writer's ones were cleared).
    assert.deepEqual(await ls(path.join(cli, 'runs', 'tiny')), ['checkpoint']);
    assert.deepEqual(await ls(path.join(cli, 'models')), ['tiny']);
  });

  test('--resume without a checkpoint is one readable error line', async () => {
    const p = start('src/cli/train.ts', [...args(2, ['--resume']).map((a) => (a === 'tiny' ? 'nothing-here' : a))]);
    const { code } = await p.done;
    assert.equal(code, 1);
    assert.ok(
      p.out.some((l) => /^error: --resume: no checkpoint in /.test(l)),
      p.out.join('\n'),
    );
  });
});

describe('evaluation', () => {
  test('metrics from a confusion matrix worked out by hand', () => {
    // 12 faces of 4 classes; classes 4-6 never occur and are never predicted.
    const truth = [0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3];
    const pred = [0, 0, 1, 3, 1, 0, 2, 2, 2, 3, 3, 0];
    const m = metricsFromConfusion(confusionMatrix(truth, pred));
    const z = [0, 0, 0];
    assert.deepEqual(m.confusion, [
      [2, 1, 0, 1, ...z],
      [1, 1, 0, 0, ...z],
      [0, 0, 3, 0, ...z],
      [1, 0, 0, 2, ...z],
      [0, 0, 0, 0, ...z],
      [0, 0, 0, 0, ...z],
      [0, 0, 0, 0, ...z],
    ]);
    assert.equal(m.n, 12);
    assert.equal(m.accuracy, 8 / 12);
    const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);
    // angry: tp 2, predicted 4, support 4 -> p 1/2, r 1/2, f1 1/2
    close(m.per_class.angry.precision, 0.5, 'angry p');
    close(m.per_class.angry.recall, 0.5, 'angry r');
    close(m.per_class.angry.f1, 0.5, 'angry f1');
    // disgust: tp 1, predicted 2, support 2 -> 1/2, 1/2, 1/2
    close(m.per_class.disgust.f1, 0.5, 'disgust f1');
    // fear: tp 3, predicted 3, support 3 -> 1, 1, 1
    close(m.per_class.fear.precision, 1, 'fear p');
    close(m.per_class.fear.f1, 1, 'fear f1');
    // happy: tp 2, predicted 3, support 3 -> 2/3, 2/3, 2/3
    close(m.per_class.happy.precision, 2 / 3, 'happy p');
    close(m.per_class.happy.recall, 2 / 3, 'happy r');
    close(m.per_class.happy.f1, 2 / 3, 'happy f1');
    assert.deepEqual(m.per_class.sad, { precision: 0, recall: 0, f1: 0, support: 0 });
    assert.deepEqual(
      LABELS.map((l) => m.per_class[l].support),
      [4, 2, 3, 3, 0, 0, 0],
    );
    // Macro-F1 over all 7 classes (absent ones count as 0).
    close(m.macro_f1, (0.5 + 0.5 + 1 + 2 / 3) / 7, 'macro_f1');
    // argmaxRows: the first maximum wins.
    assert.deepEqual([...argmaxRows(Float32Array.from([0, 1, 0, 0, 0, 0, 0, 5, 5, 0, 0, 0, 0, 0]))], [1, 0]);
  });

  test('npm run evaluate -- --json: exactly one JSON object of the DESIGN.md shape', async () => {
    const r = await run('evaluate', settings({ epochs: 2 }));
    const child = spawn(
      'npm',
      ['run', '--silent', 'evaluate', '--', '--model', r.outDir, '--data', faces.csvGz, '--json', '--backend', 'wasm'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `stdout is not one line:\n${stdout}`);
    const report = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(report), ['model', 'usage', 'n', 'accuracy', 'macro_f1', 'per_class', 'confusion']);
    assert.equal(report.model, 'tiny-cnn');
    assert.equal(report.usage, 'PublicTest'); // no PrivateTest rows in the file
    assert.equal(report.n, data.val.size);
    assert.deepEqual(Object.keys(report.per_class), [...LABELS]);
    for (const l of LABELS) assert.deepEqual(Object.keys(report.per_class[l]), ['precision', 'recall', 'f1', 'support']);
    assert.equal(report.confusion.length, 7);
    for (const row of report.confusion) {
      assert.equal(row.length, 7);
      assert.ok(row.every((v: unknown) => Number.isInteger(v)));
    }
    // Internally consistent, and the same as scoring in-process.
    assert.deepEqual(report, { model: report.model, usage: report.usage, ...metricsFromConfusion(report.confusion) });
    const { model, card } = await loadTrainedModel(r.outDir);
    const mine = await evaluateSplit(model, card.input, data.val);
    model.dispose();
    assert.deepEqual(report.confusion, mine.confusion);
    assert.equal(report.accuracy, mine.accuracy);
  });
  test("npm run evaluate measures the model as served: the card's TTA (flip, shift) unless --no-tta", async () => {
    const r = await run('evaluate-tta', settings({ epochs: 1 }));
    const cardFile = path.join(r.outDir, 'card.json');
    const card = JSON.parse(await fs.readFile(cardFile, 'utf8'));
    await fs.writeFile(cardFile, JSON.stringify({ ...card, tta: 'flip' }));
    const evaluateText = async (...extra: string[]) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/evaluate.ts', '--model', r.outDir, '--data', faces.csvGz, '--backend', 'wasm', ...extra],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      child.stdout.on('data', (b) => {
        stdout += b;
      });
      assert.equal(await new Promise<number | null>((resolve) => child.on('close', resolve)), 0);
      return stdout;
    };
    const evaluate = async (...extra: string[]) => JSON.parse(await evaluateText('--json', ...extra)).confusion as number[][];
    const { model } = await loadTrainedModel(r.outDir);
    const [withFlip, withShift, without] = [
      await evaluateSplit(model, card.input, data.val, { tta: 'flip' }),
      await evaluateSplit(model, card.input, data.val, { tta: 'shift' }),
      await evaluateSplit(model, card.input, data.val),
    ];
    model.dispose();
    assert.notDeepEqual(withFlip.predicted, without.predicted, 'flip TTA changes some predictions of this model');
    assert.notDeepEqual(withShift.predicted, withFlip.predicted, 'shift TTA changes some predictions of flip');
    assert.deepEqual(await evaluate(), withFlip.confusion);
    assert.deepEqual(await evaluate('--no-tta'), without.confusion);
    // A card choosing shift: its ten views, named in the report; --tta keeps them, --no-tta drops them.
    await fs.writeFile(cardFile, JSON.stringify({ ...card, tta: 'shift' }));
    assert.deepEqual(await evaluate(), withShift.confusion);
    assert.deepEqual(await evaluate('--tta'), withShift.confusion);
    assert.match(await evaluateText(), /, with shift TTA \(10 views\)\n/);
    // A card choosing none: --tta asks for the mirror.
    await fs.writeFile(cardFile, JSON.stringify({ ...card, tta: 'none' }));
    assert.deepEqual(await evaluate('--tta'), withFlip.confusion);
  });
});
