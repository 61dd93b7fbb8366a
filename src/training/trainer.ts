/**
 * The training loop: seeded shuffling and augmentation, Adam or SGD+Nesterov,
 * reduce-on-plateau, early stopping on validation accuracy, class weights,
 * label smoothing, a checkpoint every epoch (and on SIGINT/SIGTERM, and every
 * few minutes mid-epoch) that `--resume` continues exactly, and the artifact
 * `models/<name>/` rewritten atomically whenever validation accuracy improves.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf/backend.js';
import { facesToTensor, FACE_PIXELS } from '../inference/preprocess.js';
import { LABELS, NUM_CLASSES, type EvalReport, type HistoryEntry, type InputSpec, type ModelCard } from '../types.js';
import { loadModelFolder, modelFiles, recoverFolder, writeFolderAtomically, saveModelFolder, type Quantization } from '../tf/model-io.js';
import { cardPath, cardSettings } from './card-paths.js';
import { augmentFaces, type AugmentOptions } from './augment.js';
import type { Split } from './dataset.js';
import { evaluateSplit } from './evaluate.js';
import { classWeights, epochOrder, type Rebalance } from './imbalance.js';
import { mulberry32 } from './random.js';
import { buildArchitecture, phasesOf, type ArchSettings, type Phase } from './recipes.js';
import { WeightAverage } from './weight-average.js';

export interface TrainSettings extends ArchSettings {
  name: string;
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  momentum: number;
  /**
   * plateau: the learning rate drops by plateauFactor when val_acc stalls; cosine: it follows
   * half a cosine from the phase's rate down to minLr over each cycle of the phase (a fixed budget).
   */
  schedule: 'plateau' | 'cosine';
  /**
   * Cosine: epochs per cycle; the rate restarts from the top after each (warm restarts), so every cycle's end is a
   * finished model and a longer budget is more cycles. 0, or a cycle longer than the phase: one cycle over the phase.
   */
  cosineCycle: number;
  plateauPatience: number;
  plateauFactor: number;
  minLr: number;
  earlyStopPatience: number;
  classWeight: Rebalance;
  /** Oversampling of rare classes when each epoch's order is drawn (imbalance.ts). */
  sampling: Rebalance;
  /** Cross-entropy, or focal loss (down-weights faces the model already gets right). */
  loss: 'ce' | 'focal';
  focalGamma: number;
  /** Start from this model folder's weights (artifact or checkpoint) instead of fresh ones. */
  init?: string | null;
  labelSmoothing: number;
  /** Decay of the moving average of the weights that is evaluated and exported (0: the weights as trained). */
  ema: number;
  augment: AugmentOptions;
  seed: number;
  quantize: Quantization;
  /** Minutes between mid-epoch checkpoints (0: only at epoch ends). */
  checkpointMinutes: number;
  /**
   * Blur (Gaussian sigma) of the training faces relative to the faces the
   * model will serve: becomes `input.blur` of the card (training/sharpness.ts).
   */
  inputBlur?: number;
}

/** Everything `--resume` needs besides the weights. */
interface RunState {
  settings: TrainSettings;
  trainedOn: string;
  valName: string;
  /** The command line that started the run (see TrainData). */
  command?: string;
  /** Last completed epoch (1-based; 0 before the first). */
  epoch: number;
  /** Next batch of the current epoch (mid-epoch checkpoints). */
  batch: number;
  partial: { loss: number; correct: number; seen: number; seconds: number };
  lr: number;
  history: HistoryEntry[];
  best: { val_acc: number; epoch: number };
  bestPerPhase: Record<string, { val_acc: number; epoch: number }>;
  plateauWait: number;
  plateauBest: number;
  earlyWait: number;
  trainSeconds: number;
  phase: string;
  /** Optimisation steps folded into the weight average so far. */
  averageSteps?: number;
  /** The run that --init started from, so the card tells the whole training (absent: none, or not read yet). */
  prior?: PriorRun | null;
}

/** An earlier run whose weights a warm start (--init) took over. */
interface PriorRun { from: string; history: HistoryEntry[]; trainSeconds: number }

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

const ckptDir = (io: TrainIO) => path.join(io.runDir, 'checkpoint');

function makeOptimizer(s: TrainSettings, lr: number): tf.Optimizer {
  return s.optimizer === 'sgd' ? tf.train.momentum(lr, s.momentum, true) : tf.train.adam(lr);
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // Both optimizers read this field on every step.
  (opt as unknown as { learningRate: number }).learningRate = lr;
}

async function saveCheckpoint(io: TrainIO, model: tf.LayersModel, opt: tf.Optimizer, state: RunState, avg: WeightAverage | null): Promise<void> {
  const files = await modelFiles(model);
  const optWeights = await opt.getWeights();
  const { data, specs } = await tf.io.encodeWeights(optWeights);
  const average = avg ? await tf.io.encodeWeights(avg.named()) : null;
  await writeFolderAtomically(ckptDir(io), {
    ...files,
    'optimizer.bin': new Uint8Array(data as ArrayBuffer),
    'optimizer.json': JSON.stringify(specs),
    ...(average ? { 'average.bin': new Uint8Array(average.data as ArrayBuffer), 'average.json': JSON.stringify(average.specs) } : {}),
    'state.json': JSON.stringify(state, null, 1),
  });
}

/** Named tensors saved in the checkpoint as `<stem>.json` + `<stem>.bin`, in saved order (null: no such files). */
async function readCheckpointTensors(io: TrainIO, stem: string): Promise<Array<{ name: string; tensor: tf.Tensor }> | null> {
  const specsText = await fs.readFile(path.join(ckptDir(io), `${stem}.json`), 'utf8').catch(() => null);
  if (specsText === null) return null;
  const specs = JSON.parse(specsText) as tf.io.WeightsManifestEntry[];
  if (specs.length === 0) return [];
  const buf = await fs.readFile(path.join(ckptDir(io), `${stem}.bin`));
  const map = tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer, specs);
  return specs.map((spec) => ({ name: spec.name, tensor: map[spec.name] }));
}

async function restoreOptimizer(io: TrainIO, opt: tf.Optimizer): Promise<void> {
  const saved = await readCheckpointTensors(io, 'optimizer');
  if (saved === null) throw new Error(`--resume: ${path.join(ckptDir(io), 'optimizer.json')} is missing`);
  if (saved.length === 0) return;
  await opt.setWeights(saved);
  // setWeights wraps each tensor in a new variable (sharing its data): the decoded tensors themselves are ours to free.
  tf.dispose(saved.map((t) => t.tensor));
}

/**
 * TF.js's Dropout draws its mask from a generator seeded afresh with
 * `layer.seed` on every call, so a fixed seed gives every batch the same mask.
 * Each step gets its own seeds instead: masks vary, and runs still repeat exactly.
 */
export function reseedDropout(model: tf.LayersModel, seed: number, step: number): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() === 'Dropout') (layer as unknown as { seed?: number }).seed = ((seed * 1_000_003) ^ (step * 7919 + i)) >>> 0;
  });
}

function cardFor(state: RunState, model: tf.LayersModel, spec: InputSpec, metrics: ModelCard['metrics'], name: string, notes?: string): ModelCard {
  const s = state.settings;
  const prior = state.prior ?? { history: [], trainSeconds: 0 };
  return {
    name,
    arch: s.arch,
    input: spec,
    labels: [...LABELS],
    trained_on: state.trainedOn,
    params: model.countParams(),
    created: new Date().toISOString(),
    metrics,
    history: [...prior.history, ...state.history.map((e) => ({ ...e, epoch: e.epoch + prior.history.length }))],
    settings: cardSettings({ ...s, validation: state.valName }),
    ...(state.command ? { command: state.command } : {}),
    train_seconds: Math.round(prior.trainSeconds + state.trainSeconds),
    tta: 'none',
    quantization: s.quantize,
    notes: [notes, state.prior && `Warm start: epochs 1-${prior.history.length} of the history are the earlier run whose weights this one started from (${cardPath(state.prior.from)}, its own settings); the rest are this run's (settings).`]
      .filter(Boolean).join(' ') || undefined,
  };
}

/** Writes models/<name>/ from the model's current weights, with `r`: their metrics on the validation split. */
async function exportArtifact(dir: string, name: string, model: tf.LayersModel, spec: InputSpec, state: RunState,
  r: Omit<EvalReport, 'model' | 'usage'>, notes?: string): Promise<void> {
  const metrics = { [state.valName === 'PublicTest' ? 'PublicTest' : 'validation']: {
    n: r.n, accuracy: r.accuracy, macro_f1: r.macro_f1, per_class: r.per_class, confusion: r.confusion } };
  const card = cardFor(state, model, spec, metrics as ModelCard['metrics'], name, notes);
  await saveModelFolder(dir, model, { 'card.json': JSON.stringify(card, null, 1) }, state.settings.quantize);
}

export interface TrainData {
  train: Split; val: Split; valName: string; trainedOn: string;
  /** How the run was started, for the card (e.g. "npm run train -- --arch cnn --data fer2013.csv.gz"). */
  command?: string;
}

/** Trains (or resumes) a run; resolves when done, early-stopped or interrupted. */
export async function train(settingsIn: TrainSettings, data: TrainData, io: TrainIO, resume: boolean): Promise<{ interrupted: boolean; state: RunState }> {
  let state: RunState;
  const built = await buildArchitecture(settingsIn, io.log);
  const model = built.model;
  if (resume) {
    await recoverFolder(ckptDir(io));
    const saved = JSON.parse(await fs.readFile(path.join(ckptDir(io), 'state.json'), 'utf8')) as RunState;
    // Settings of a resumed run are the saved ones, except the epoch budget (epochs, cycle length) may grow
    // (runs saved before sampling/focal loss existed used neither).
    const old: Partial<TrainSettings> = saved.settings;
    state = { ...saved, settings: { ...saved.settings, sampling: old.sampling ?? 'none', schedule: old.schedule ?? 'plateau', ema: old.ema ?? 0, loss: old.loss ?? 'ce', focalGamma: old.focalGamma ?? 2, epochs: settingsIn.epochs, cosineCycle: settingsIn.cosineCycle } };
    const ck = await loadModelFolder(ckptDir(io));
    model.setWeights(ck.getWeights());
    ck.dispose();
    io.log(`resuming ${state.settings.name} after epoch ${state.epoch}${state.batch ? `, batch ${state.batch}` : ''} (lr ${state.lr})`);
  } else {
    if (settingsIn.init) await initWeights(model, settingsIn.init, io.log);
    state = {
      settings: settingsIn, trainedOn: data.trainedOn, valName: data.valName, command: data.command, epoch: 0, batch: 0,
      partial: { loss: 0, correct: 0, seen: 0, seconds: 0 }, lr: settingsIn.lr, history: [],
      best: { val_acc: -1, epoch: 0 }, bestPerPhase: {}, plateauWait: 0, plateauBest: -1, earlyWait: 0, trainSeconds: 0, phase: '',
    };
  }
  state.command ??= data.command;
  const s = state.settings;
  if (s.init && state.prior === undefined) state.prior = await readPriorRun(s.init, io.log);
  // Training faces already carry the blur that other faces are brought to.
  const inputBlur = s.inputBlur ?? 0;
  const spec: InputSpec = inputBlur > 0 ? { ...built.input, blur: inputBlur } : built.input;
  const weights = classWeights(data.train, s.classWeight);
  let avg: WeightAverage | null = null;
  if (s.ema > 0) {
    const saved = resume ? await readCheckpointTensors(io, 'average') : null;
    avg = new WeightAverage(model, s.ema, saved?.map((t) => t.tensor));
    if (saved) tf.dispose(saved.map((t) => t.tensor));
  }
  // Evaluation and export see the weight average when there is one.
  const averaged = <T>(fn: () => Promise<T>): Promise<T> => (avg ? avg.withAveraged(fn) : fn());
  const phases = phasesOf(s);
  const phaseAt = (epoch: number): Phase => phases.find((p) => epoch <= p.lastEpoch) ?? phases[phases.length - 1];

  let stop: 'none' | 'signal' = 'none';
  const onSignal = () => { if (stop === 'none') { stop = 'signal'; io.log('\ninterrupt: saving a checkpoint after this batch...'); } };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let opt: tf.Optimizer | null = null;
  let optPhase = '';
  let split: ReturnType<typeof built.split> | null = null;
  const n = data.train.size;
  const batches = Math.ceil(n / s.batchSize);
  const batchPixels = new Float32Array(s.batchSize * FACE_PIXELS);
  const totalEpochs = Math.min(s.epochs, phases[phases.length - 1].lastEpoch);

  try {
    for (let epoch = state.epoch + 1; epoch <= totalEpochs; epoch++) {
      const phase = phaseAt(epoch);
      if (phase.name !== optPhase) {
        // New phase (or first epoch of this process): build the split and optimizer.
        split = built.split(phase.firstTopLayer);
        const isPhaseStart = state.phase !== phase.name;
        if (isPhaseStart) {
          state.phase = phase.name;
          state.lr = phase.lr ?? s.lr;
          state.plateauWait = 0; state.plateauBest = -1; state.earlyWait = 0;
        }
        opt?.dispose();
        opt = makeOptimizer(s, state.lr);
        if (resume && !isPhaseStart) await restoreOptimizer(io, opt);
        optPhase = phase.name;
        io.log(`phase "${phase.name}": training ${split.top.trainableWeights.length} weight tensors (${split.top.countParams()} params in the trained part), lr ${state.lr}`);
      }
      // A warm start continues the earlier run's epoch count for its random draws: numbering from 1 again
      // would replay the very orders, augmentations and dropout masks the weights were just trained on.
      const drawEpoch = epoch + (state.prior?.history.length ?? 0);
      const order = epochOrder(data.train, s.sampling, s.seed, drawEpoch);
      const augRng = mulberry32(s.seed * 104729 + drawEpoch * 31 + state.batch);
      const t0 = Date.now();
      const p = state.partial;
      io.progress?.start(batches, state.batch, { epoch, epochs: totalEpochs, loss: '-', acc: '-', ips: '-' });
      let lastCkpt = Date.now();
      for (let b = state.batch; b < batches; b++) {
        const lo = b * s.batchSize, hi = Math.min(n, lo + s.batchSize), m = hi - lo;
        const src = new Uint8Array(m * FACE_PIXELS);
        const labels = new Int32Array(m);
        for (let i = 0; i < m; i++) {
          const k = order[lo + i];
          src.set(data.train.pixels.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), i * FACE_PIXELS);
          labels[i] = data.train.labels[k];
        }
        const faces = batchPixels.subarray(0, m * FACE_PIXELS);
        augmentFaces(src, faces, m, s.augment, augRng);
        reseedDropout(model, s.seed, (drawEpoch - 1) * batches + b);
        if (s.schedule === 'cosine') {
          state.lr = cosineLr(phase.lr ?? s.lr, s.minLr, cycleProgress(phases, phase, s.cosineCycle, epoch, b / batches));
          setLearningRate(opt!, state.lr);
        }
        const { loss, correct } = trainStep(split!, opt!, faces, labels, spec, weights, lossOf(s), inputBlur);
        if (avg) { avg.update(state.averageSteps ?? 0); state.averageSteps = (state.averageSteps ?? 0) + 1; }
        // A batch is synchronous: without this turn of the event loop the
        // SIGINT/SIGTERM handlers would only run at the end of the epoch.
        await new Promise<void>((resolve) => setImmediate(resolve));
        p.loss += loss * m; p.correct += correct; p.seen += m;
        state.batch = b + 1;
        const secs = p.seconds + (Date.now() - t0) / 1000;
        io.progress?.update(b + 1, { epoch, epochs: totalEpochs, loss: (p.loss / p.seen).toFixed(4), acc: (p.correct / p.seen).toFixed(4), ips: (p.seen / secs).toFixed(1) });
        const due = s.checkpointMinutes > 0 && Date.now() - lastCkpt > s.checkpointMinutes * 60_000;
        if (stop !== 'none' || due) {
          // trainSeconds counts finished epochs; this epoch's time so far is partial.seconds.
          const saved = { ...state, partial: { ...p, seconds: secs } };
          await saveCheckpoint(io, model, opt!, saved, avg);
          lastCkpt = Date.now();
          if (stop !== 'none') {
            io.progress?.stop();
            io.log(`checkpoint saved in ${ckptDir(io)} (epoch ${epoch}, batch ${b + 1}/${batches}); continue with --resume`);
            return { interrupted: true, state: saved };
          }
        }
      }
      io.progress?.stop();
      const seconds = p.seconds + (Date.now() - t0) / 1000;
      const val = await averaged(() => evaluateSplit(model, spec, data.val));
      const entry: HistoryEntry = {
        epoch, loss: p.loss / p.seen, acc: p.correct / p.seen, val_loss: val.loss, val_acc: val.accuracy,
        lr: state.lr, seconds: Math.round(seconds), phase: phase.name,
      };
      state.history.push(entry);
      state.trainSeconds += seconds;
      state.epoch = epoch; state.batch = 0; state.partial = { loss: 0, correct: 0, seen: 0, seconds: 0 };
      io.log(`epoch ${epoch}/${totalEpochs} [${phase.name}] loss ${entry.loss.toFixed(4)} acc ${entry.acc.toFixed(4)} | val_loss ${entry.val_loss.toFixed(4)} val_acc ${entry.val_acc.toFixed(4)} macro_f1 ${val.macro_f1.toFixed(4)} | lr ${state.lr.toExponential(2)} | ${Math.round(seconds)} s (${(n / seconds).toFixed(1)} img/s)`);

      // Best model so far: becomes the artifact (and per phase, e.g. mobilenetv2-frozen).
      if (val.accuracy > state.best.val_acc) {
        state.best = { val_acc: val.accuracy, epoch };
        await averaged(() => exportArtifact(io.outDir, s.name, model, spec, state, val));
        io.log(`  new best val_acc ${val.accuracy.toFixed(4)}: wrote ${io.outDir}`);
      }
      const pb = state.bestPerPhase[phase.name];
      if (phase.artifact && (!pb || val.accuracy > pb.val_acc)) {
        state.bestPerPhase[phase.name] = { val_acc: val.accuracy, epoch };
        const dir = path.join(path.dirname(io.outDir), phase.artifact);
        await averaged(() => exportArtifact(dir, phase.artifact!, model, spec, state, val, phase.artifactNote));
        io.log(`  wrote ${dir} (best of phase "${phase.name}")`);
      }
      // Reduce on plateau and early stopping, both on validation accuracy.
      if (val.accuracy > state.plateauBest + 1e-4) { state.plateauBest = val.accuracy; state.plateauWait = 0; state.earlyWait = 0; } else {
        state.plateauWait++; state.earlyWait++;
        if (s.schedule === 'plateau' && state.plateauWait >= s.plateauPatience && state.lr > s.minLr) {
          state.lr = Math.max(s.minLr, state.lr * s.plateauFactor);
          setLearningRate(opt!, state.lr);
          state.plateauWait = 0;
          io.log(`  no improvement for ${s.plateauPatience} epochs: learning rate -> ${state.lr.toExponential(2)}`);
        }
      }
      // Under the cosine schedule a run stops only at the end of a cycle that brought no gain: mid-cycle the rate is
      // still high, and a restart always costs accuracy for a few epochs.
      const cycle = cycleOf(phases, phase, s.cosineCycle);
      const early = s.schedule === 'cosine'
        ? (epoch - cycle.first + 1) % cycle.length === 0 && state.earlyWait >= cycle.length
        : state.earlyWait >= s.earlyStopPatience;
      if (early) {
        const next = phases.find((ph) => ph.lastEpoch > epoch);
        io.log(`  early stop in phase "${phase.name}": no val_acc gain for ${state.earlyWait} epochs`);
        if (next && next.name !== phase.name) {
          // Skip to the next phase instead of ending the run.
          const skipTo = phases[phases.indexOf(phase)].lastEpoch;
          state.epoch = skipTo;
          epoch = skipTo;
        } else {
          await saveCheckpoint(io, model, opt!, state, avg);
          break;
        }
      }
      await saveCheckpoint(io, model, opt!, state, avg);
      if (stop !== 'none') return { interrupted: true, state };
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opt?.dispose();
    avg?.dispose();
  }
  io.log(`done: best val_acc ${state.best.val_acc.toFixed(4)} at epoch ${state.best.epoch}; model in ${io.outDir}`);
  return { interrupted: false, state };
}

/** The history of the run behind a model folder: a checkpoint's state.json or an artifact's card.json (null: neither). */
async function readPriorRun(dir: string, log: (m: string) => void, depth = 0): Promise<PriorRun | null> {
  const read = async (file: string) => JSON.parse(await fs.readFile(path.join(dir, file), 'utf8')) as Partial<RunState & ModelCard>;
  const found = await read('state.json').catch(() => read('card.json')).catch(() => null);
  if (!found?.history) { log(`${dir} has no training history (state.json or card.json): the card will only tell this run`); return null; }
  if (found.train_seconds !== undefined) {
    // An artifact's card already tells its whole training, warm starts included.
    return { from: dir, history: found.history, trainSeconds: found.train_seconds };
  }
  // A checkpoint tells only its own run: prepend the one it was warm-started from, if any.
  const init = (found.settings as Partial<TrainSettings> | undefined)?.init;
  const before = found.prior !== undefined ? found.prior : init && depth < 8 ? await readPriorRun(init, log, depth + 1) : null;
  const offset = before?.history.length ?? 0;
  return {
    from: dir,
    history: [...(before?.history ?? []), ...found.history.map((e) => ({ ...e, epoch: e.epoch + offset }))],
    trainSeconds: (before?.trainSeconds ?? 0) + (found.trainSeconds ?? 0),
  };
}

/** Copies every weight of the model folder `dir` into `model` (same architecture), for a warm start. */
async function initWeights(model: tf.LayersModel, dir: string, log: (m: string) => void): Promise<void> {
  const src = await loadModelFolder(dir).catch((e: Error) => { throw new Error(`--init ${dir}: ${e.message}`); });
  try {
    const from = src.getWeights(), to = model.getWeights();
    const same = from.length === to.length && from.every((w, i) => w.shape.join('x') === to[i].shape.join('x'));
    if (!same) throw new Error(`--init ${dir}: its weights do not fit this architecture (check --arch and the --cnn-*/--input-size options)`);
    model.setWeights(from);
    log(`started from the weights in ${dir}`);
  } finally { src.dispose(); }
}

/** Half a cosine from `base` (progress 0) down to `min` (progress 1). */
export function cosineLr(base: number, min: number, progress: number): number {
  const t = Math.min(1, Math.max(0, progress));
  return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** The first epoch of `phase` and the length of its cosine cycles (the whole phase when `cycle` is 0 or longer). */
export function cycleOf(phases: Phase[], phase: Phase, cycle: number): { first: number; length: number } {
  const i = phases.indexOf(phase);
  const first = i > 0 ? phases[i - 1].lastEpoch + 1 : 1;
  const span = phase.lastEpoch - first + 1;
  return { first, length: cycle > 0 && cycle < span ? cycle : span };
}

/** How far into its cosine cycle training is (0..1) at `epoch` (1-based) plus a fraction of it. */
export function cycleProgress(phases: Phase[], phase: Phase, cycle: number, epoch: number, fraction: number): number {
  const { first, length } = cycleOf(phases, phase, cycle);
  return (((epoch - first) % length) + fraction) / length;
}

/** The loss settings of a training step. */
export interface LossSpec { smoothing: number; focalGamma: number }

export const lossOf = (s: Pick<TrainSettings, 'labelSmoothing' | 'loss' | 'focalGamma'>): LossSpec =>
  ({ smoothing: s.labelSmoothing, focalGamma: s.loss === 'focal' ? s.focalGamma : 0 });

/**
 * One optimisation step on a batch; returns mean loss and the number correct. Exported for the tests and the benchmark.
 * The loss is cross-entropy against (smoothed) one-hot targets, times (1 - p)^gamma per class when focal (gamma > 0).
 */
export function trainStep(split: { bottom: tf.LayersModel | null; top: tf.LayersModel }, opt: tf.Optimizer, faces: Float32Array,
  labels: Int32Array, spec: InputSpec, classW: number[], lossSpec: LossSpec, sourceBlur = 0): { loss: number; correct: number } {
  const { smoothing, focalGamma } = lossSpec;
  return tf.tidy(() => {
    const x = facesToTensor(faces, spec, sourceBlur);
    // The frozen part runs in inference mode, outside the gradient tape.
    const feats = split.bottom ? (split.bottom.apply(x, { training: false }) as tf.Tensor) : x;
    const y = tf.tensor1d(labels, 'int32');
    const oneHot = tf.oneHot(y, NUM_CLASSES).toFloat();
    const target = smoothing > 0 ? tf.add(tf.mul(oneHot, 1 - smoothing), smoothing / NUM_CLASSES) : oneHot;
    const w = tf.gather(tf.tensor1d(classW), y);
    let correct: tf.Tensor | null = null;
    const varList = split.top.trainableWeights.map((v) => v.read() as tf.Variable);
    const lossT = opt.minimize(() => {
      const probs = split.top.apply(feats, { training: true }) as tf.Tensor;
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), y), 'float32')));
      const p = tf.clipByValue(probs, 1e-7, 1);
      const logP = focalGamma > 0 ? tf.mul(tf.pow(tf.sub(1, p), focalGamma), tf.log(p)) : tf.log(p);
      const ce = tf.neg(tf.sum(tf.mul(target, logP), 1));
      let total = tf.div(tf.sum(tf.mul(ce, w)), labels.length) as tf.Scalar;
      for (const reg of split.top.calculateLosses()) total = tf.add(total, reg);
      return total;
    }, true, varList) as tf.Scalar;
    const out = { loss: lossT.dataSync()[0], correct: (correct as unknown as tf.Tensor).dataSync()[0] };
    (correct as unknown as tf.Tensor).dispose();
    return out;
  });
}
