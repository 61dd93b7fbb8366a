/** The shape of models/comparison.json (written by `npm run compare`, read by GET /compare). */
import type { EvalReport, HistoryEntry } from '../artifacts/card.js';
import type { Label } from '../types.js';
import type { ReliabilityBin } from '../training/calibration.js';
import type { McNemarCounts, McNemarTest } from './mcnemar.js';

export const COMPARISON_VERSION = 1;

/** Latency of one face at batch size 1: preprocessing + prediction + reading the scores back. */
export interface Latency {
  median_ms: number;
  p90_ms: number;
  runs: number;
}

/**
 * One evaluated model. The EvalReport fields (model, usage, n, accuracy,
 * macro_f1, per_class, confusion) are exactly what `npm run evaluate --json`
 * prints for the same rows.
 */
export interface ModelResult extends EvalReport {
  /** Folder name under models/ for ours; a fixed id for peers. */
  id: string;
  kind: 'ours' | 'peer';
  available: true;
  arch: string;
  /** Where it came from: the folder, or package@version and file. */
  source: string;
  params: number;
  /** Bytes on disk of the model files (model.json/manifest + weights; not card.json). */
  size_bytes: number;
  latency: Latency;
  /** How a 48x48 grey FER face becomes this model's input. */
  preprocessing: string;
  /** Peers: the model's own label -> FER2013 label. */
  label_mapping?: Record<string, Label>;
  trained_on?: string;
  train_seconds?: number;
  /** Training curves from the card (ours only). */
  history?: HistoryEntry[];
  /** Caveats the reader should know (e.g. these rows were the validation set). */
  notes: string[];
  /** How well the scores match how often the model is right, on these rows. */
  calibration?: CalibrationResult;
}

/**
 * Calibration on the compared rows: as the model scores them, and (ours,
 * when the card has a temperature) after temperature scaling.
 */
export interface CalibrationResult {
  /** The card's temperature, or null when it has none (peers, uncalibrated models). */
  temperature: number | null;
  /** What the temperature was fitted on (the card's `fitted_on`). */
  fitted_on: string | null;
  ece_before: number;
  ece_after: number | null;
  bins_before: ReliabilityBin[];
  bins_after: ReliabilityBin[] | null;
}

/** A model that could not be evaluated, with the reason (the comparison still goes on). */
export interface UnavailableModel {
  id: string;
  kind: 'ours' | 'peer';
  available: false;
  source: string;
  reason: string;
}

export type ModelEntry = ModelResult | UnavailableModel;

export interface McNemarResult extends McNemarCounts, McNemarTest {
  a: string;
  b: string;
  n: number;
  alpha: number;
  significant: boolean;
  /** The model with more rows right only it got (null when tied). */
  better: string | null;
  /** One sentence for people. */
  summary: string;
}

export interface Comparison {
  version: typeof COMPARISON_VERSION;
  created: string;
  data: {
    /** File or folder name of the data (not the full local path). */
    name: string;
    usage: string;
    n: number;
    class_counts: Record<Label, number>;
    /** E.g. "fer2013.csv.gz, PublicTest rows (3589 faces)". */
    description: string;
  };
  environment: { backend: string; tfjs: string; node: string; cpu: string; cores: number };
  labels: Label[];
  models: ModelEntry[];
  mcnemar: McNemarResult[];
}
