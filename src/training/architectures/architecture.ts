/**
 * What an architecture tells the trainer: how to build a fresh model, the
 * input it expects, the phases it trains in, and its defaults. Each
 * architecture is one file exporting one of these; index.ts lists them.
 */
import type { tf } from '../../tf/backend.js';
import type { InputSpec } from '../../artifacts/card.js';
import type { CnnOptions } from './custom-cnn.js';

/** The settings an architecture reads (a part of TrainSettings, config.ts). */
export interface ArchSettings {
  /** The --arch name (index.ts). */
  arch: string;
  name: string;
  epochs: number;
  lr: number;
  seed: number;
  /** Custom CNN shape (only what the command line set; the rest from CNN_DEFAULTS). */
  cnn?: CnnOptions;
  /** MobileNetV2 settings. */
  alpha: number;
  inputSize: number;
  base: string | null;
  headEpochs: number;
  finetuneFrom: number;
  finetuneLr: number;
  /** MobileNetV2 batch norm while fine-tuning: frozen ImageNet statistics, or adapted to the data (batch statistics). */
  finetuneBatchNorm?: 'frozen' | 'adapt';
  dropout: number;
}

export interface Phase {
  name: string;
  /** Last epoch (1-based, inclusive) of this phase. */
  lastEpoch: number;
  /** First layer that trains; everything before it is frozen (null: nothing). */
  firstTopLayer: string | null;
  lr?: number;
  /** Also keep the best model of this phase as models/<artifact>. */
  artifact?: string;
  artifactNote?: string;
}

export interface Architecture {
  /** Model name (models/<name>, runs/<name>) when --name is not given. */
  modelName: string;
  /** The recipe's epoch budget, epochs per cosine cycle and weight average when --epochs / --cosine-cycle / --ema are not given. */
  defaults: { epochs: number; cosineCycle: number; ema: number };
  /** Starts from a pretrained base (--base); other architectures record `base: null`. */
  usesBase: boolean;
  /** Other architectures' settings, never read by this one: a model's card records them, but they are not its recipe. */
  unread: ReadonlyArray<keyof ArchSettings>;
  /** A fresh model with its input (pretrained weights loaded, if any). */
  build(s: ArchSettings, log: (m: string) => void): Promise<{ model: tf.LayersModel; input: InputSpec }>;
  /** The phases of a run, in order; the last one ends at `s.epochs`. */
  phases(s: ArchSettings): Phase[];
}
