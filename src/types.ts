/** Types shared by training, evaluation, serving and the CLI. */

/** FER2013 class order; every label array in the project uses it. */
export const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type Label = (typeof LABELS)[number];
export const NUM_CLASSES = LABELS.length;

/** Side of a FER2013 face: every face is prepared at this size first. */
export const FACE_SIZE = 48;

export const USAGES = ['Training', 'PublicTest', 'PrivateTest'] as const;
export type Usage = (typeof USAGES)[number];

export type Normalisation = 'unit' | 'symmetric';

/** How a 48x48 grey face becomes a model input (stored in card.json). */
export interface InputSpec {
  /** Side of the square model input in pixels. */
  size: number;
  /** 1 for grey, 3 when the grey channel is replicated (ImageNet bases). */
  channels: 1 | 3;
  /** 'unit': x/255 in [0,1]; 'symmetric': x/127.5-1 in [-1,1]. */
  normalisation: Normalisation;
  /**
   * Gaussian blur (sigma, in pixels of the 48x48 face) that every face is
   * brought to before the model: the sharpness of the model's training faces.
   * 0 or absent: faces are used as they are. See training/sharpness.ts.
   */
  blur?: number;
}

export interface ClassMetrics { precision: number; recall: number; f1: number; support: number }

/** The evaluation result; `--json` prints exactly this (DESIGN.md). */
export interface EvalReport {
  model: string;
  usage: string;
  n: number;
  accuracy: number;
  macro_f1: number;
  per_class: Record<Label, ClassMetrics>;
  /** 7x7, rows = true class, columns = predicted class. */
  confusion: number[][];
}

export interface HistoryEntry {
  epoch: number;
  loss: number;
  acc: number;
  val_loss: number;
  val_acc: number;
  lr: number;
  /** Seconds this epoch took (extra field, for the wall-time figures). */
  seconds?: number;
  /** Training phase for two-phase runs (MobileNetV2): 'head' or 'finetune'. */
  phase?: string;
}

export type Arch = 'cnn' | 'mobilenetv2';

/** The card `arch` of a folder that averages other model folders' answers (inference/ensemble.ts). */
export const ENSEMBLE_ARCH = 'ensemble';

/** What `npm run calibrate` writes into card.json (inference/calibration.ts applies it). */
export interface CalibrationCard {
  /** Divides the log-probabilities before the softmax; 1 = unchanged. */
  temperature: number;
  /** Expected calibration error (15 equal-width bins of the top score) before and after, on `fitted_on`. */
  ece_before: number;
  ece_after: number;
  /** Mean negative log-likelihood before and after (what the fit minimises). */
  nll_before?: number;
  nll_after?: number;
  /** The rows it was fitted on, e.g. "fer2013.csv.gz PublicTest (3589 faces)". */
  fitted_on: string;
  created?: string;
}

/** models/<name>/card.json */
export interface ModelCard {
  name: string;
  arch: Arch | typeof ENSEMBLE_ARCH;
  /**
   * Ensembles only: the sibling model folders whose probabilities (each as served: its own
   * TTA and temperature) are averaged. Such a folder holds card.json alone.
   */
  members?: string[];
  input: InputSpec;
  labels: string[];
  trained_on: string;
  params: number;
  created: string;
  metrics: Partial<Record<Usage, Omit<EvalReport, 'model' | 'usage'>>>;
  history: HistoryEntry[];
  /** Free-form run settings (optimizer, lr, augmentation, seed, ...). */
  settings?: Record<string, unknown>;
  /** The command that trained the model (paths shortened to file names). */
  command?: string;
  /** Wall time of the whole training in seconds. */
  train_seconds?: number;
  /** Test-time augmentation the demo should use (e.g. 'flip'). */
  tta?: 'none' | 'flip';
  /** Weight quantisation applied when saving, if any. */
  quantization?: 'float16' | 'uint8' | null;
  notes?: string;
  /** Temperature scaling fitted by `npm run calibrate` (inference/calibration.ts). */
  calibration?: CalibrationCard;
}
