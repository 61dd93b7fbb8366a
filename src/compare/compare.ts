/**
 * The comparison behind `npm run compare` and GET /compare: every model folder
 * in models/ (those with a card.json) and the peer models, scored on the same
 * rows. Our models go through `evaluateSplit` exactly as `npm run evaluate`
 * does, so their figures are the same to the last digit.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../tf/backend.js';
import { classCounts, type Split } from '../training/dataset.js';
import { evaluateEntry, scoreEntry, splitMetrics } from '../training/evaluate.js';
import { argmaxRows, confusionMatrix, metricsFromConfusion } from '../training/metrics.js';
import { loadModelEntry } from '../inference/registry.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { TTA_SHIFT } from '../inference/tta.js';
import { applyTemperature, temperatureOf } from '../inference/calibration.js';
import { expectedCalibrationError, reliability, type ReliabilityBin } from '../training/calibration.js';
import { LABELS, type Label } from '../types.js';
import { ENSEMBLE_ARCH, type InputSpec, type ModelCard } from '../artifacts/card.js';
import { formatP, mcnemarCounts, mcnemarTest } from './mcnemar.js';
import { PEERS, type PeerSpec } from './peers.js';
import {
  COMPARISON_VERSION,
  type CalibrationResult,
  type Comparison,
  type Latency,
  type McNemarResult,
  type ModelEntry,
  type ModelResult,
} from './types.js';

/** Bins of the reliability diagram on /compare (ECE itself uses training/calibration.ts's 15). */
export const RELIABILITY_BINS = 10;

/** The pairs McNemar's test is run on, when both models are present: the ensemble earns its place only by beating each member. */
export const DEFAULT_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['custom-cnn', 'mobilenetv2'],
  ['ensemble', 'custom-cnn'],
  ['ensemble', 'mobilenetv2'],
  ['mobilenetv2', 'mobilenetv2-frozen'],
];

/** Shown first, in this order; other folders follow alphabetically. */
const MAIN_MODELS = ['custom-cnn', 'mobilenetv2', 'ensemble', 'mobilenetv2-frozen'];

export interface CompareOptions {
  modelsDir: string;
  /** The rows every model is scored on. */
  split: Split;
  /** Name of the data (file or folder name) and which rows, for the record. */
  dataName: string;
  usage: string;
  /** Peer models to include (default: face-api and human; [] for none). */
  peers?: PeerSpec[];
  /** Timed single-face predictions per model (after 3 warm-up runs). */
  latencyRuns?: number;
  pairs?: ReadonlyArray<readonly [string, string]>;
  /** Significance level for McNemar's test. */
  alpha?: number;
  log?: (msg: string) => void;
}

/** Folders of models/ that hold a card.json, main models first. */
export async function listModelFolders(modelsDir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(modelsDir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const names: string[] = [];
  for (const e of entries) {
    // Hidden folders are atomic-write temporaries, never models.
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    try {
      await fsp.access(path.join(modelsDir, e.name, 'card.json'));
      names.push(e.name);
    } catch {
      /* not a model folder */
    }
  }
  const rank = (n: string) => {
    const i = MAIN_MODELS.indexOf(n);
    return i < 0 ? MAIN_MODELS.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Bytes of model.json and the weight files it names (card.json is not the model). */
export async function modelFolderBytes(dir: string): Promise<number> {
  const jsonPath = path.join(dir, 'model.json');
  const json = JSON.parse(await fsp.readFile(jsonPath, 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
  let bytes = (await fsp.stat(jsonPath)).size;
  for (const g of json.weightsManifest) for (const p of g.paths) bytes += (await fsp.stat(path.join(dir, p))).size;
  return bytes;
}

/** Median and 90th percentile of `runs` single-face predictions, after 3 warm-ups. */
export async function measureLatency(scoreOne: (face: Uint8Array) => Promise<unknown>, pixels: Uint8Array, runs: number): Promise<Latency> {
  const n = pixels.length / FACE_PIXELS;
  const face = (i: number) => pixels.subarray((i % n) * FACE_PIXELS, ((i % n) + 1) * FACE_PIXELS);
  for (let i = 0; i < 3; i++) await scoreOne(face(i));
  const times: number[] = [];
  for (let i = 0; i < Math.max(1, runs); i++) {
    const t0 = performance.now();
    await scoreOne(face(i));
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { median_ms: round(at(0.5)), p90_ms: round(at(0.9)), runs: times.length };
}

/** What the reader should know about these figures for one of our models. */
function notesFor(card: ModelCard, usage: string): string[] {
  const notes: string[] = [];
  const validation = (card.settings as { validation?: unknown } | undefined)?.validation;
  if (usage === 'Training') notes.push('These are the rows it was trained on.');
  else if (validation === usage || card.trained_on.includes(`validation ${usage}`)) {
    notes.push(
      `${usage} was this model's validation set during training (learning-rate drops, early stopping and the kept checkpoint), so these figures are slightly optimistic; PrivateTest is untouched by training.`,
    );
  }
  // Each sentence is a cmptext.* message of the i18n catalogues, word for word (server/present/compare-text.ts).
  if (card.tta === 'flip')
    notes.push(
      'The model averages each face with its mirror image (flip TTA, as its card says); so do these figures, as the demo and `npm run evaluate`.',
    );
  if (card.tta === 'shift')
    notes.push(
      `The model averages ten views of each face: the face and its mirror image, each also moved ${TTA_SHIFT} pixels left, right, up and down (shift TTA, as its card says); so do these figures, as the demo and \`npm run evaluate\`.`,
    );
  if (card.notes) notes.push(card.notes);
  return notes;
}

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;
const roundBins = (bins: ReliabilityBin[]) =>
  bins.map((b) => ({
    ...b,
    confidence: b.confidence === null ? null : round4(b.confidence),
    accuracy: b.accuracy === null ? null : round4(b.accuracy),
  }));

/** ECE and reliability bins of raw scores, and after the card's temperature when it has one. */
export function calibrationOf(scores: Float32Array, labels: Uint8Array, card: ModelCard | null): CalibrationResult {
  const t = card?.calibration ? temperatureOf(card) : null;
  const after = t === null ? null : applyTemperature(Float32Array.from(scores), t);
  return {
    temperature: t,
    fitted_on: card?.calibration?.fitted_on ?? null,
    ece_before: round4(expectedCalibrationError(scores, labels)),
    ece_after: after ? round4(expectedCalibrationError(after, labels)) : null,
    bins_before: roundBins(reliability(scores, labels, RELIABILITY_BINS)),
    bins_after: after ? roundBins(reliability(after, labels, RELIABILITY_BINS)) : null,
  };
}

async function evaluateOurs(
  dir: string,
  id: string,
  o: CompareOptions,
  runs: number,
): Promise<{ entry: ModelResult; predicted: Uint8Array }> {
  const loaded = await loadModelEntry(dir);
  const { card } = loaded;
  const networks = loaded.kind === 'ensemble' ? loaded.members : [loaded];
  try {
    const r = await evaluateEntry(loaded, o.split);
    // As served, like the accuracy: a network's views (its card's TTA) are part of its time per face.
    const latency = await measureLatency((face) => scoreEntry(loaded, face, { batchSize: 1 }), o.split.pixels, runs);
    let bytes = 0;
    for (const m of networks) bytes += await modelFolderBytes(m.dir);
    const entry: ModelResult = {
      model: card.name,
      usage: o.usage,
      ...splitMetrics(r),
      id,
      kind: 'ours',
      available: true,
      arch: card.arch,
      source: `models/${id}`,
      params: networks.reduce((sum, m) => sum + m.model.countParams(), 0),
      size_bytes: bytes,
      latency,
      preprocessing:
        loaded.kind === 'ensemble'
          ? `each member's own (${loaded.members.map((m) => `${m.id}: ${preprocessingOf(m.card.input)}`).join('; ')}); the members' calibrated probabilities are averaged.`
          : `${preprocessingOf(card.input)}.`,
      trained_on: card.trained_on,
      train_seconds: card.train_seconds,
      history: card.history ?? [],
      notes: notesFor(card, o.usage),
      calibration: calibrationOf(r.scores, o.split.labels, card),
    };
    return { entry, predicted: r.predicted };
  } finally {
    // An ensemble loaded here has members of its own: free them too.
    for (const m of networks) m.model.dispose();
  }
}

function preprocessingOf({ size, channels, normalisation, blur }: InputSpec): string {
  return (
    `the project's facesToTensor: ${blur ? `Gaussian blur to sigma ${blur} px (the sharpness of its Training faces), ` : ''}${normalisation === 'unit' ? 'x / 255 into [0, 1]' : 'x / 127.5 - 1 into [-1, 1]'}` +
    `${size !== 48 ? `, bilinear resize to ${size}x${size}` : ''}${channels === 3 ? ', grey replicated to 3 channels' : ''}`
  );
}

async function evaluatePeer(spec: PeerSpec, o: CompareOptions, runs: number): Promise<{ entry: ModelResult; predicted: Uint8Array }> {
  const peer = await spec.load();
  try {
    const scores = await peer.score(o.split.pixels);
    const predicted = argmaxRows(scores);
    const m = metricsFromConfusion(confusionMatrix(o.split.labels, predicted));
    const latency = await measureLatency((face) => peer.score(face, 1), o.split.pixels, runs);
    const entry: ModelResult = {
      model: peer.id,
      usage: o.usage,
      ...m,
      id: peer.id,
      kind: 'peer',
      available: true,
      arch: peer.arch,
      source: peer.source,
      params: peer.params,
      size_bytes: peer.sizeBytes,
      latency,
      preprocessing: peer.preprocessing,
      label_mapping: peer.labelMapping,
      notes: peer.notes,
      calibration: calibrationOf(scores, o.split.labels, null),
    };
    return { entry, predicted };
  } finally {
    peer.dispose();
  }
}

/** McNemar's test of model `a` against `b` on the same rows. */
export function mcnemarBetween(a: string, b: string, truth: Uint8Array, pa: Uint8Array, pb: Uint8Array, alpha = 0.05): McNemarResult {
  const counts = mcnemarCounts(truth, pa, pb);
  const test = mcnemarTest(counts.a_only, counts.b_only);
  const better = counts.a_only === counts.b_only ? null : counts.a_only > counts.b_only ? a : b;
  const significant = test.p_value < alpha;
  const how =
    test.method === 'exact-binomial' ? 'exact binomial test' : `chi-square ${test.statistic!.toFixed(2)} with continuity correction`;
  const summary =
    `${a} is right on ${counts.a_only} faces ${b} gets wrong, ${b} on ${counts.b_only} the other way round; ` +
    `p = ${formatP(test.p_value)} (${how}): ` +
    (significant
      ? `${better} is better, and the difference is unlikely to be chance (p < ${alpha}).`
      : `no real difference can be claimed at the ${alpha} level.`);
  return { a, b, n: truth.length, ...counts, ...test, alpha, significant, better, summary };
}

export async function compareModels(o: CompareOptions): Promise<Comparison> {
  const log = o.log ?? (() => {});
  const runs = o.latencyRuns ?? 50;
  const models: ModelEntry[] = [];
  const predictions = new Map<string, Uint8Array>();
  for (const id of await listModelFolders(o.modelsDir)) {
    log(`evaluating ${id} on ${o.split.size} ${o.usage} faces ...`);
    try {
      const { entry, predicted } = await evaluateOurs(path.join(o.modelsDir, id), id, o, runs);
      models.push(entry);
      predictions.set(id, predicted);
      log(
        `  ${id}: accuracy ${(entry.accuracy * 100).toFixed(1)}%, macro-F1 ${entry.macro_f1.toFixed(3)}, ${entry.latency.median_ms} ms/face`,
      );
    } catch (e) {
      models.push({ id, kind: 'ours', available: false, source: `models/${id}`, reason: (e as Error).message });
      log(`  ${id}: skipped (${(e as Error).message})`);
    }
  }
  for (const spec of o.peers ?? PEERS) {
    log(`evaluating peer ${spec.id} (${spec.pkg}) ...`);
    try {
      const { entry, predicted } = await evaluatePeer(spec, o, runs);
      models.push(entry);
      predictions.set(entry.id, predicted);
      log(
        `  ${spec.id}: accuracy ${(entry.accuracy * 100).toFixed(1)}%, macro-F1 ${entry.macro_f1.toFixed(3)}, ${entry.latency.median_ms} ms/face`,
      );
    } catch (e) {
      // A peer that cannot run on this TF.js is reported, not fatal.
      models.push({ id: spec.id, kind: 'peer', available: false, source: spec.pkg, reason: `cannot run here: ${(e as Error).message}` });
      log(`  ${spec.id}: not available (${(e as Error).message})`);
    }
  }
  const mcnemar: McNemarResult[] = [];
  for (const [a, b] of o.pairs ?? DEFAULT_PAIRS) {
    const pa = predictions.get(a),
      pb = predictions.get(b);
    if (pa && pb) mcnemar.push(mcnemarBetween(a, b, o.split.labels, pa, pb, o.alpha));
  }
  const counts = classCounts(o.split);
  const cpus = os.cpus();
  return {
    version: COMPARISON_VERSION,
    created: new Date().toISOString(),
    data: {
      name: o.dataName,
      usage: o.usage,
      n: o.split.size,
      class_counts: Object.fromEntries(LABELS.map((l, i) => [l, counts[i]])) as Record<Label, number>,
      description: `${o.dataName}, ${o.usage} rows (${o.split.size} faces)`,
    },
    environment: {
      backend: tf.getBackend(),
      tfjs: tf.version.tfjs,
      node: process.version,
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
    },
    labels: [...LABELS],
    models,
    mcnemar,
  };
}

/** Writes comparison.json through a temporary file and a rename, so the page never reads half of it. */
export async function writeComparison(file: string, c: Comparison): Promise<void> {
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, JSON.stringify(c, null, 1) + '\n');
  await fsp.rename(tmp, file);
}

/** The comparison as a terminal table. */
export function formatComparison(c: Comparison): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${c.data.description}; TF.js ${c.environment.tfjs} (${c.environment.backend})`,
    '',
    `${'model'.padEnd(22)}${'accuracy'.padStart(9)}${'macro-F1'.padStart(10)}${'params'.padStart(10)}${'size'.padStart(10)}${'ms/face'.padStart(9)}`,
  ];
  for (const m of c.models) {
    if (!m.available) {
      lines.push(`${m.id.padEnd(22)}  not available: ${m.reason}`);
      continue;
    }
    lines.push(
      `${m.id.padEnd(22)}${pct(m.accuracy).padStart(9)}${m.macro_f1.toFixed(3).padStart(10)}${String(m.params).padStart(10)}` +
        `${`${(m.size_bytes / 1024).toFixed(0)} KB`.padStart(10)}${m.latency.median_ms.toFixed(1).padStart(9)}`,
    );
  }
  const calibrated = c.models.filter((m): m is ModelResult => m.available && !!m.calibration);
  if (calibrated.length) {
    lines.push('', `Calibration (expected calibration error of the top score, 15 bins; lower is better):`);
    for (const m of calibrated) {
      const k = m.calibration!;
      lines.push(
        `  ${m.id.padEnd(20)}ECE ${k.ece_before.toFixed(4)}` +
          (k.ece_after === null
            ? m.kind !== 'ours'
              ? ''
              : m.arch === ENSEMBLE_ARCH
                ? '  (the mean of its calibrated members)'
                : '  (no temperature in its card: npm run calibrate)'
            : ` -> ${k.ece_after.toFixed(4)} with temperature ${k.temperature!.toFixed(3)} (fitted on ${k.fitted_on})`),
      );
    }
  }
  if (c.mcnemar.length) lines.push('', 'McNemar:', ...c.mcnemar.map((t) => `  ${t.summary}`));
  return lines.join('\n');
}
