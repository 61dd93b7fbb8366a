/**
 * Every training default in one place, with the settings they fill. The train
 * CLI's options read their defaults from here and the architectures theirs; a
 * run saves the settings it used (state.json, card.json `settings`), so a
 * default changed here changes new runs only, never a --resume.
 */
import type { ArchSettings } from './architectures/architecture.js';
import type { AugmentOptions } from './augment.js';
import type { Rebalance } from './imbalance.js';
import type { Quantization } from '../artifacts/float16.js';
import type { MixKind, MixSettings } from './mix.js';

/** Options every architecture shares. */
export const TRAIN_DEFAULTS = {
  /** Folder for checkpoints, runs/<name>/checkpoint (EKSPRESI_RUNS overrides it). */
  runs: 'runs',
  /** Faces per optimisation step. */
  batchSize: 64,
  /** Adam, or SGD with Nesterov momentum. */
  optimizer: 'adam' as 'adam' | 'sgd',
  /** Learning rate per optimizer (MobileNetV2: of the head phase). */
  lr: { adam: 1e-3, sgd: 0.01 },
  /** SGD momentum. */
  momentum: 0.9,
  /** Cosine decay in cycles with warm restarts, or drops on plateaus. */
  schedule: 'cosine' as 'plateau' | 'cosine',
  /** Plateau schedule: epochs without val_acc gain before the rate drops. */
  plateauPatience: 3,
  /** Plateau schedule: factor applied to the rate on a plateau. */
  plateauFactor: 0.5,
  /** Lowest learning rate (where a cosine cycle ends). */
  minLr: 1e-6,
  /** Plateau schedule: early stop after this many epochs without val_acc gain (cosine: a cycle without gain). */
  earlyStopPatience: 8,
  /** Class weights in the loss: inverse frequency, its square root, or none. */
  classWeight: 'sqrt' as Rebalance,
  /** Oversampling of rare classes when each epoch's order is drawn. */
  sampling: 'none' as Rebalance,
  /** Cross-entropy or focal loss. */
  loss: 'ce' as 'ce' | 'focal',
  /** Focal loss: gamma. */
  focalGamma: 2,
  /** Label smoothing of the one-hot targets. */
  labelSmoothing: 0.1,
  /** Augmentation on (its strengths: DEFAULT_AUGMENT in augment.ts). */
  augment: true,
  /** Seed of every random draw: initial weights, epoch orders, augmentation, dropout. */
  seed: 42,
  /** Blur served faces to match blurrier training faces: auto (measured), off, or a sigma. */
  matchBlur: 'auto',
  /** Minutes between mid-epoch checkpoints (0: only at epoch ends). */
  checkpointMinutes: 10,
  /** With --teacher: the teacher's share of each target (the rest is the smoothed label). */
  teacherWeight: 0.5,
};

/**
 * Beta parameter of each way of mixing faces (`--mix`; off unless asked for): the values of the
 * mixup and cutmix papers for small images, where mixup keeps most faces close to one class.
 */
export const MIX_ALPHA: Record<MixKind, number> = { mixup: 0.2, cutmix: 1 };

/**
 * A finished run serves more test-time views (none -> flip -> shift, inference/tta.ts) only when a step adds
 * at least this much validation accuracy (0.005: half a point), since each step multiplies the work per face
 * (flip by 2, shift by 5 more).
 */
export const TTA_MIN_GAIN = 0.005;

/** The custom CNN (architectures/custom-cnn.ts). */
export const CNN_DEFAULTS = {
  /** Input side: FER2013's own 48x48; it learned more per epoch than 32x32, and more per hour from the second half of its first cycle. */
  inputSize: 48,
  /** Filters per block; each block is convolutions then a 2x2 max-pool. */
  widths: [32, 64, 128, 256],
  /** Convolutions per block. */
  convsPerBlock: [1, 2, 2, 2],
  /** Units of the dense layer before the classifier. */
  dense: 256,
  /** Dropout before the classifier. */
  dropout: 0.4,
  /** L2 weight decay of the convolutions and the dense layer. */
  l2: 1e-4,
  /** Epochs per cosine cycle: about two hours on one core; each cycle ends in a finished model. */
  cosineCycle: 10,
  /** Five cycles; a budget grows by whole cycles (resume with a larger --epochs). */
  epochs: 50,
  /** Decay of the weight average that is evaluated and exported (0: the weights as trained); it rides out each warm restart. */
  ema: 0.999,
};

/** Teachable Machine's copy of the Keras MobileNetV2 0.35 ImageNet base (needs internet). */
export const DEFAULT_BASE_URL =
  'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top/model.json';

/** MobileNetV2 fine-tuned from ImageNet (architectures/mobilenetv2.ts). */
export const MOBILENET_DEFAULTS = {
  /** The ImageNet base (TF.js layers model), a path or a URL. */
  base: DEFAULT_BASE_URL,
  /** Width multiplier (must match the base). */
  alpha: 0.35,
  /** Input side (faces are resized from 48); 96 learns more per hour than 64 here, at 2.3x the work per step. */
  inputSize: 96,
  /** Epochs training only the new head on the frozen base. */
  headEpochs: 1,
  /** First block unfrozen for fine-tuning (1-16). */
  finetuneFrom: 1,
  /** Learning rate while fine-tuning. */
  finetuneLr: 1e-4,
  /** Batch norm while fine-tuning: frozen ImageNet statistics, or adapted to the data. */
  finetuneBatchNorm: 'frozen' as 'frozen' | 'adapt',
  /** Dropout before the new head (recorded in every run's settings). */
  dropout: 0.3,
  /** Fine-tuning epochs per cosine cycle. */
  cosineCycle: 19,
  /** One head epoch, then four fine-tuning cycles (2-3 hours each on one core at 96x96). */
  epochs: 1 + 4 * 19,
  /** Decay of the weight average that is evaluated and exported (0: the weights as trained). */
  ema: 0,
};

/** Everything a run is trained with; saved in its checkpoint (state.json) and its card (`settings`). */
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
  /** Mixup or cutmix within each batch; absent: faces are not mixed. */
  mix?: MixSettings;
  /** Knowledge distillation (teacher.ts): a model folder and its share of each target; absent: labels only. */
  teacher?: { model: string; weight: number };
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
