/**
 * The training loop: seeded shuffling and augmentation, Adam or SGD+Nesterov,
 * reduce-on-plateau or cosine cycles, early stopping on validation accuracy,
 * class weights, label smoothing, a checkpoint every epoch (and on
 * SIGINT/SIGTERM, and every few minutes mid-epoch) that `--resume` continues
 * exactly, and the artifact `models/<name>/` rewritten atomically whenever
 * validation accuracy improves. Settings: config.ts; checkpoints:
 * checkpoint.ts; one step: step.ts; the learning rate: schedule.ts.
 */
import path from 'node:path';
import { tf } from '../tf/backend.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { NUM_CLASSES } from '../types.js';
import type { HistoryEntry, InputSpec } from '../artifacts/card.js';
import { augmentFaces } from './augment.js';
import { buildArchitecture, phasesOf, type BuiltArchitecture, type Phase } from './architectures/index.js';
import { checkpointDir, readCheckpointTensors, restoreOptimizer, restoreRun, saveCheckpoint, type RunState } from './checkpoint.js';
import type { TrainSettings } from './config.js';
import type { Split } from './dataset.js';
import { evaluateSplit } from './evaluate.js';
import { exportArtifact, metricsKey } from './export.js';
import { chooseTtaForFolder, describeTtaChoice } from './choose-tta.js';
import { classWeights, epochOrder } from './imbalance.js';
import { mixBatch } from './mix.js';
import { mulberry32 } from './random.js';
import { runTeacherTargets, TEACHER_FILE } from './teacher.js';
import { cosineLr, cycleOf, cycleProgress, makeOptimizer, setLearningRate } from './schedule.js';
import { lossOf, reseedDropout, trainStep } from './step.js';
import { FLUSH_EVERY_STEPS, flushNearZero, optimizerSlots } from './subnormals.js';
import type { SplitModel } from './split-model.js';
import { initWeights, readPriorRun } from './warm-start.js';
import { WeightAverage } from './weight-average.js';

export type { TrainSettings } from './config.js';
export type { RunState } from './checkpoint.js';

export interface TrainIO {
  runDir: string;
  outDir: string;
  log: (msg: string) => void;
  progress?: ProgressSink;
}

export interface ProgressSink {
  start(total: number, start: number, payload: Record<string, string | number>): void;
  update(value: number, payload: Record<string, string | number>): void;
  stop(): void;
}

export interface TrainData {
  train: Split;
  val: Split;
  valName: string;
  trainedOn: string;
  /** How the run was started, for the card (e.g. "npm run train -- --arch cnn --data fer2013.csv.gz"). */
  command?: string;
}

/** One run in progress: what every step of the loop reads, and the optimizer of the current phase. */
interface Run {
  s: TrainSettings;
  state: RunState;
  data: TrainData;
  io: TrainIO;
  ckpt: string;
  resume: boolean;
  built: BuiltArchitecture;
  model: tf.LayersModel;
  /** The card's input; training faces already carry `inputBlur`, the blur other faces are brought to. */
  spec: InputSpec;
  inputBlur: number;
  classW: number[];
  /** The teacher's probabilities for every training face (n x 7), when distilling. */
  teacher: Float32Array | null;
  avg: WeightAverage | null;
  phases: Phase[];
  totalEpochs: number;
  batches: number;
  batchPixels: Float32Array;
  opt: tf.Optimizer | null;
  optPhase: string;
  split: SplitModel | null;
  /** Set by SIGINT/SIGTERM: checkpoint after the current batch and return. */
  stopRequested: boolean;
}

/** Trains (or resumes) a run; resolves when done, early-stopped or interrupted. */
export async function train(
  settingsIn: TrainSettings,
  data: TrainData,
  io: TrainIO,
  resume: boolean,
): Promise<{ interrupted: boolean; state: RunState }> {
  const run = await startRun(settingsIn, data, io, resume);
  const { state } = run;
  const onSignal = () => {
    if (!run.stopRequested) {
      run.stopRequested = true;
      io.log('\ninterrupt: saving a checkpoint after this batch...');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (let epoch = state.epoch + 1; epoch <= run.totalEpochs; epoch++) {
      const phase = run.phases.find((p) => epoch <= p.lastEpoch) ?? run.phases[run.phases.length - 1];
      await enterPhase(run, phase);
      const trained = await trainEpoch(run, epoch, phase);
      if ('interrupted' in trained) return { interrupted: true, state: trained.interrupted };
      const valAcc = await endEpoch(run, epoch, phase, trained.seconds);
      const next = afterEpoch(run, epoch, phase, valAcc);
      if (next === 'stop') {
        await checkpoint(run);
        break;
      }
      if (next === 'next-phase') epoch = state.epoch;
      await checkpoint(run);
      if (run.stopRequested) return { interrupted: true, state };
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    run.opt?.dispose();
    run.avg?.dispose();
  }
  io.log(`done: best val_acc ${state.best.val_acc.toFixed(4)} at epoch ${state.best.epoch}; model in ${io.outDir}`);
  // The finished model's test-time augmentation is part of the recipe, chosen on the validation split.
  if (state.best.epoch > 0) io.log(`  ${describeTtaChoice(await chooseTtaForFolder(io.outDir, run.data.val, metricsKey(state.valName)))}`);
  return { interrupted: false, state };
}

/** Builds the model and the run: fresh (or warm-started with --init), or restored from the checkpoint. */
async function startRun(settingsIn: TrainSettings, data: TrainData, io: TrainIO, resume: boolean): Promise<Run> {
  const built = await buildArchitecture(settingsIn, io.log);
  const { model } = built;
  const ckpt = checkpointDir(io.runDir);
  let state: RunState;
  if (resume) {
    state = await restoreRun(ckpt, model, settingsIn);
    io.log(`resuming ${state.settings.name} after epoch ${state.epoch}${state.batch ? `, batch ${state.batch}` : ''} (lr ${state.lr})`);
  } else {
    if (settingsIn.init) await initWeights(model, settingsIn.init, io.log);
    state = {
      settings: settingsIn,
      trainedOn: data.trainedOn,
      valName: data.valName,
      command: data.command,
      epoch: 0,
      batch: 0,
      partial: { loss: 0, correct: 0, seen: 0, seconds: 0 },
      lr: settingsIn.lr,
      history: [],
      best: { val_acc: -1, epoch: 0 },
      bestPerPhase: {},
      plateauWait: 0,
      plateauBest: -1,
      earlyWait: 0,
      trainSeconds: 0,
      phase: '',
    };
  }
  state.command ??= data.command;
  const s = state.settings;
  if (s.init && state.prior === undefined) state.prior = await readPriorRun(s.init, io.log);
  const inputBlur = s.inputBlur ?? 0;
  const classW = classWeights(data.train, s.classWeight);
  const teacher = s.teacher
    ? await runTeacherTargets(path.join(io.runDir, TEACHER_FILE), s.teacher.model, data.train, resume, io.log)
    : null;
  let avg: WeightAverage | null = null;
  if (s.ema > 0) {
    const saved = resume ? await readCheckpointTensors(ckpt, 'average') : null;
    avg = new WeightAverage(
      model,
      s.ema,
      saved?.map((t) => t.tensor),
    );
    if (saved) tf.dispose(saved.map((t) => t.tensor));
  }
  const phases = phasesOf(s);
  return {
    s,
    state,
    data,
    io,
    ckpt,
    resume,
    built,
    model,
    inputBlur,
    classW,
    teacher,
    avg,
    phases,
    spec: inputBlur > 0 ? { ...built.input, blur: inputBlur } : built.input,
    totalEpochs: Math.min(s.epochs, phases[phases.length - 1].lastEpoch),
    batches: Math.ceil(data.train.size / s.batchSize),
    batchPixels: new Float32Array(s.batchSize * FACE_PIXELS),
    opt: null,
    optPhase: '',
    split: null,
    stopRequested: false,
  };
}

/** At a new phase (or the first epoch of this process): the model's split and a new optimizer. */
async function enterPhase(run: Run, phase: Phase): Promise<void> {
  if (phase.name === run.optPhase) return;
  const { state, s } = run;
  run.split = run.built.split(phase.firstTopLayer);
  const isPhaseStart = state.phase !== phase.name;
  if (isPhaseStart) {
    state.phase = phase.name;
    state.lr = phase.lr ?? s.lr;
    state.plateauWait = 0;
    state.plateauBest = -1;
    state.earlyWait = 0;
  }
  run.opt?.dispose();
  run.opt = makeOptimizer(s, state.lr);
  if (run.resume && !isPhaseStart) await restoreOptimizer(run.ckpt, run.opt);
  run.optPhase = phase.name;
  run.io.log(
    `phase "${phase.name}": training ${run.split.top.trainableWeights.length} weight tensors (${run.split.top.countParams()} params in the trained part), lr ${state.lr}`,
  );
}

/** The batches of one epoch (from a mid-epoch checkpoint's batch on); stops early on a signal. */
async function trainEpoch(run: Run, epoch: number, phase: Phase): Promise<{ seconds: number } | { interrupted: RunState }> {
  const { s, state, data, io, batches } = run;
  const n = data.train.size;
  // A warm start continues the earlier run's epoch count for its random draws: numbering from 1 again
  // would replay the very orders, augmentations and dropout masks the weights were just trained on.
  const drawEpoch = epoch + (state.prior?.history.length ?? 0);
  const order = epochOrder(data.train, s.sampling, s.seed, drawEpoch);
  const augRng = mulberry32(s.seed * 104729 + drawEpoch * 31 + state.batch);
  const t0 = Date.now();
  const p = state.partial;
  io.progress?.start(batches, state.batch, { epoch, epochs: run.totalEpochs, loss: '-', acc: '-', ips: '-' });
  let lastCkpt = Date.now();
  for (let b = state.batch; b < batches; b++) {
    const lo = b * s.batchSize,
      hi = Math.min(n, lo + s.batchSize),
      m = hi - lo;
    const src = new Uint8Array(m * FACE_PIXELS);
    const labels = new Int32Array(m);
    const soft = run.teacher ? new Float32Array(m * NUM_CLASSES) : null;
    for (let i = 0; i < m; i++) {
      const k = order[lo + i];
      src.set(data.train.pixels.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), i * FACE_PIXELS);
      labels[i] = data.train.labels[k];
      soft?.set(run.teacher!.subarray(k * NUM_CLASSES, (k + 1) * NUM_CLASSES), i * NUM_CLASSES);
    }
    const faces = run.batchPixels.subarray(0, m * FACE_PIXELS);
    augmentFaces(src, faces, m, s.augment, augRng);
    const mix = s.mix ? mixBatch(faces, m, s.mix, augRng) : undefined;
    reseedDropout(run.model, s.seed, (drawEpoch - 1) * batches + b);
    if (s.schedule === 'cosine') {
      state.lr = cosineLr(phase.lr ?? s.lr, s.minLr, cycleProgress(run.phases, phase, s.cosineCycle, epoch, b / batches));
      setLearningRate(run.opt!, state.lr);
    }
    const { loss, correct } = trainStep(
      run.split!,
      run.opt!,
      faces,
      labels,
      run.spec,
      run.classW,
      lossOf(s),
      run.inputBlur,
      mix,
      soft && s.teacher ? { rows: soft, weight: s.teacher.weight } : undefined,
    );
    if (run.avg) {
      run.avg.update(state.averageSteps ?? 0);
      state.averageSteps = (state.averageSteps ?? 0) + 1;
    }
    // Counted over the run, not the epoch: a small data set may have fewer batches per epoch than the interval.
    if (((epoch - 1) * batches + b + 1) % FLUSH_EVERY_STEPS === 0) await flushRunNearZero(run);
    // A batch is synchronous: without this turn of the event loop the
    // SIGINT/SIGTERM handlers would only run at the end of the epoch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    p.loss += loss * m;
    p.correct += correct;
    p.seen += m;
    state.batch = b + 1;
    const secs = p.seconds + (Date.now() - t0) / 1000;
    io.progress?.update(b + 1, {
      epoch,
      epochs: run.totalEpochs,
      loss: (p.loss / p.seen).toFixed(4),
      acc: (p.correct / p.seen).toFixed(4),
      ips: (p.seen / secs).toFixed(1),
    });
    const due = s.checkpointMinutes > 0 && Date.now() - lastCkpt > s.checkpointMinutes * 60_000;
    if (run.stopRequested || due) {
      // trainSeconds counts finished epochs; this epoch's time so far is partial.seconds.
      const saved = { ...state, partial: { ...p, seconds: secs } };
      await saveCheckpoint(run.ckpt, run.model, run.opt!, saved, run.avg);
      lastCkpt = Date.now();
      if (run.stopRequested) {
        io.progress?.stop();
        io.log(`checkpoint saved in ${run.ckpt} (epoch ${epoch}, batch ${b + 1}/${batches}); continue with --resume`);
        return { interrupted: saved };
      }
    }
  }
  io.progress?.stop();
  return { seconds: p.seconds + (Date.now() - t0) / 1000 };
}

/** Zeroes the near-zero values (FLUSH_BELOW) of everything a step reads: the trained weights, the optimizer's slots, the average. */
async function flushRunNearZero(run: Run): Promise<void> {
  const weights = run.split!.top.weights.map((w) => w.read() as tf.Variable);
  flushNearZero([...weights, ...(await optimizerSlots(run.opt!)), ...(run.avg?.variables ?? [])]);
}

/** Evaluates on the validation split, records the epoch, and exports the model when it is the best so far. */
async function endEpoch(run: Run, epoch: number, phase: Phase, seconds: number): Promise<number> {
  const { state, io, s } = run;
  const p = state.partial;
  // Evaluation and export see the weight average when there is one.
  const averaged = <T>(fn: () => Promise<T>): Promise<T> => (run.avg ? run.avg.withAveraged(fn) : fn());
  const val = await averaged(() => evaluateSplit(run.model, run.spec, run.data.val));
  // The live weights too, so that one run measures what the average adds.
  const live = run.avg ? await evaluateSplit(run.model, run.spec, run.data.val) : null;
  const entry: HistoryEntry = {
    epoch,
    loss: p.loss / p.seen,
    acc: p.correct / p.seen,
    val_loss: val.loss,
    val_acc: val.accuracy,
    lr: state.lr,
    seconds: Math.round(seconds),
    phase: phase.name,
    ...(live ? { val_acc_live: live.accuracy } : {}),
  };
  state.history.push(entry);
  state.trainSeconds += seconds;
  state.epoch = epoch;
  state.batch = 0;
  state.partial = { loss: 0, correct: 0, seen: 0, seconds: 0 };
  io.log(
    `epoch ${epoch}/${run.totalEpochs} [${phase.name}] loss ${entry.loss.toFixed(4)} acc ${entry.acc.toFixed(4)} | val_loss ${entry.val_loss.toFixed(4)} val_acc ${entry.val_acc.toFixed(4)} macro_f1 ${val.macro_f1.toFixed(4)}${live ? ` (live weights: val_acc ${live.accuracy.toFixed(4)})` : ''} | lr ${state.lr.toExponential(2)} | ${Math.round(seconds)} s (${(run.data.train.size / seconds).toFixed(1)} img/s)`,
  );

  // Best model so far: becomes the artifact (and per phase, e.g. mobilenetv2-frozen).
  if (val.accuracy > state.best.val_acc) {
    state.best = { val_acc: val.accuracy, epoch };
    await averaged(() => exportArtifact(io.outDir, s.name, run.model, run.spec, state, val));
    io.log(`  new best val_acc ${val.accuracy.toFixed(4)}: wrote ${io.outDir}`);
  }
  const pb = state.bestPerPhase[phase.name];
  if (phase.artifact && (!pb || val.accuracy > pb.val_acc)) {
    state.bestPerPhase[phase.name] = { val_acc: val.accuracy, epoch };
    const dir = path.join(path.dirname(io.outDir), phase.artifact);
    await averaged(() => exportArtifact(dir, phase.artifact!, run.model, run.spec, state, val, phase.artifactNote));
    io.log(`  wrote ${dir} (best of phase "${phase.name}")`);
  }
  const snapshot = cycleSnapshotName(run, epoch, phase);
  if (snapshot) {
    const kept = (state.bestPerCycle ??= {});
    if (!kept[snapshot] || val.accuracy > kept[snapshot].val_acc) {
      kept[snapshot] = { val_acc: val.accuracy, epoch };
      const dir = path.join(io.runDir, CYCLE_BEST_DIR, snapshot);
      await averaged(() => exportArtifact(dir, `${s.name}-${snapshot}`, run.model, run.spec, state, val, CYCLE_NOTE));
      io.log(`  wrote ${dir} (best of its cosine cycle)`);
    }
  }
  return val.accuracy;
}

/** Where a run keeps the best epoch of each cosine cycle: <runs>/<name>/cycle-best/<phase>-cycle<N>/. */
export const CYCLE_BEST_DIR = 'cycle-best';
const CYCLE_NOTE = "The best epoch of one cosine cycle of its run (kept beside the run's overall best, for ensembles of snapshots).";

/**
 * The folder name of the cosine cycle `epoch` falls in, e.g. "train-cycle3"; null when the phase is a
 * single cycle (its best is already the run's, or the phase's, artifact) or the schedule is not cosine.
 */
function cycleSnapshotName(run: Pick<Run, 's' | 'phases'>, epoch: number, phase: Phase): string | null {
  if (run.s.schedule !== 'cosine') return null;
  const { first, length } = cycleOf(run.phases, phase, run.s.cosineCycle);
  if (length >= phase.lastEpoch - first + 1) return null;
  return `${phase.name}-cycle${Math.floor((epoch - first) / length) + 1}`;
}

/**
 * Reduce on plateau and early stopping, both on validation accuracy. 'next-phase': the phase stopped early and
 * the run skips to the next one (state.epoch is the phase's last epoch); 'stop': the run ends.
 */
function afterEpoch(run: Run, epoch: number, phase: Phase, valAcc: number): 'go-on' | 'next-phase' | 'stop' {
  const { state, s, io, phases } = run;
  if (valAcc > state.plateauBest + 1e-4) {
    state.plateauBest = valAcc;
    state.plateauWait = 0;
    state.earlyWait = 0;
  } else {
    state.plateauWait++;
    state.earlyWait++;
    if (s.schedule === 'plateau' && state.plateauWait >= s.plateauPatience && state.lr > s.minLr) {
      state.lr = Math.max(s.minLr, state.lr * s.plateauFactor);
      setLearningRate(run.opt!, state.lr);
      state.plateauWait = 0;
      io.log(`  no improvement for ${s.plateauPatience} epochs: learning rate -> ${state.lr.toExponential(2)}`);
    }
  }
  // Under the cosine schedule a run stops only at the end of a cycle that brought no gain: mid-cycle the rate is
  // still high, and a restart always costs accuracy for a few epochs.
  const cycle = cycleOf(phases, phase, s.cosineCycle);
  const early =
    s.schedule === 'cosine'
      ? (epoch - cycle.first + 1) % cycle.length === 0 && state.earlyWait >= cycle.length
      : state.earlyWait >= s.earlyStopPatience;
  if (!early) return 'go-on';
  io.log(`  early stop in phase "${phase.name}": no val_acc gain for ${state.earlyWait} epochs`);
  const next = phases.find((ph) => ph.lastEpoch > epoch);
  if (!next || next.name === phase.name) return 'stop';
  // Skip to the next phase instead of ending the run.
  state.epoch = phase.lastEpoch;
  return 'next-phase';
}

const checkpoint = (run: Run): Promise<void> => saveCheckpoint(run.ckpt, run.model, run.opt!, run.state, run.avg);
