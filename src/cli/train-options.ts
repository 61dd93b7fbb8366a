/**
 * The options of `npm run train` and the training settings they resolve to. They live apart
 * from the command's action so a test can resolve each shipped card's command with today's
 * defaults without training anything.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Rebalance } from '../training/imbalance.js';
import { DEFAULT_AUGMENT, NO_AUGMENT } from '../training/augment.js';
import { ARCH_NAMES, architectureOf, type ArchName } from '../training/architectures/index.js';
import { CNN_DEFAULTS, MIX_ALPHA, MOBILENET_DEFAULTS, TRAIN_DEFAULTS as D } from '../training/config.js';
import type { MixKind } from '../training/mix.js';
import type { TrainSettings } from '../training/trainer.js';

/** The train command's options (the caller adds the action). */
export function trainProgram(): Command {
  return new Command('train')
    .description('Train the custom CNN or fine-tune MobileNetV2 on FER2013 (CSV, .csv.gz or train/test image folders).')
    .addOption(new Option('--arch <arch>', 'architecture').choices(ARCH_NAMES).default('cnn'))
    .requiredOption('--data <path>', 'fer2013.csv, fer2013.csv.gz, or a folder with train/<class>/ and test/<class>/')
    .option('--name <name>', 'model name (default: custom-cnn or mobilenetv2)')
    .option('--out <dir>', 'artifact folder (default: models/<name>)')
    .option('--runs <dir>', 'folder for checkpoints and logs', process.env.EKSPRESI_RUNS ?? D.runs)
    .option('--epochs <n>', 'total epochs (MobileNetV2: head + fine-tuning)', toInt)
    .option('--batch-size <n>', 'batch size', toInt, D.batchSize)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd']).default(D.optimizer))
    .option('--lr <x>', 'learning rate (MobileNetV2: of the head phase)', toFloat)
    .option('--momentum <x>', 'SGD momentum (Nesterov)', toFloat, D.momentum)
    .addOption(
      new Option('--schedule <name>', 'learning-rate schedule: cosine decay in cycles (--cosine-cycle), or drops on plateaus')
        .choices(['cosine', 'plateau'])
        .default(D.schedule),
    )
    .option('--plateau-patience <n>', 'epochs without val_acc gain before the learning rate drops', toInt, D.plateauPatience)
    .option('--plateau-factor <x>', 'learning-rate factor on a plateau', toFloat, D.plateauFactor)
    .option('--min-lr <x>', 'lowest learning rate', toFloat, D.minLr)
    .option(
      '--cosine-cycle <n>',
      `cosine: epochs per cycle, restarting the rate after each (default ${CNN_DEFAULTS.cosineCycle} for the CNN, ${MOBILENET_DEFAULTS.cosineCycle} for MobileNetV2 fine-tuning; 0: one cycle)`,
      toInt,
    )
    .option(
      '--patience <n>',
      'plateau schedule: early stop after this many epochs without val_acc gain (cosine: after a cycle without gain)',
      toInt,
      D.earlyStopPatience,
    )
    .addOption(
      new Option('--class-weight <mode>', 'weight classes by inverse frequency')
        .choices(['none', 'balanced', 'sqrt'])
        .default(D.classWeight),
    )
    .addOption(
      new Option('--sampling <mode>', 'oversample rare classes when drawing each epoch')
        .choices(['none', 'balanced', 'sqrt'])
        .default(D.sampling),
    )
    .addOption(new Option('--loss <name>', 'loss function').choices(['ce', 'focal']).default(D.loss))
    .option('--focal-gamma <x>', 'focal loss: gamma', toFloat, D.focalGamma)
    .option(
      '--init <dir>',
      'start from the weights of this model folder (same architecture and options), e.g. to fine-tune a trained model',
    )
    .option('--label-smoothing <x>', 'label smoothing', toFloat, D.labelSmoothing)
    .option(
      '--ema <decay>',
      `evaluate and export a moving average of the weights with this decay per step, e.g. 0.999 (0: off; default ${CNN_DEFAULTS.ema} for the CNN, ${MOBILENET_DEFAULTS.ema} for MobileNetV2)`,
      toFloat,
    )
    .addOption(
      new Option(
        '--mix <kind>',
        'mix faces within each batch, targets in the same proportion: mixup blends two faces, cutmix pastes a rectangle of one into the other',
      )
        .choices(['none', 'mixup', 'cutmix'])
        .default('none'),
    )
    .option(
      '--mix-alpha <x>',
      `--mix: Beta(x, x) of the mixing proportion (default ${MIX_ALPHA.mixup} for mixup, ${MIX_ALPHA.cutmix} for cutmix)`,
      toPositiveFloat,
    )
    .option(
      '--teacher <dir>',
      "distil a trained model folder (e.g. models/ensemble): each target blends the face's label with the teacher's probabilities for it",
    )
    .option('--teacher-weight <x>', `--teacher: the teacher's share of each target, 0-1`, toFloat)
    .option('--no-augment', 'disable augmentation')
    .option('--seed <n>', 'random seed', toInt, D.seed)
    .option('--skip-bad', 'skip bad data rows (each reported) instead of stopping')
    .option('--resume', 'continue the run in --runs/<name> from its last checkpoint')
    .option('--base <pathOrUrl>', 'MobileNetV2 ImageNet base (TF.js layers model)', MOBILENET_DEFAULTS.base)
    .option('--alpha <x>', 'MobileNetV2 width multiplier (must match --base)', toFloat, MOBILENET_DEFAULTS.alpha)
    .option('--input-size <n>', 'MobileNetV2 input side', toInt, MOBILENET_DEFAULTS.inputSize)
    .option('--head-epochs <n>', 'MobileNetV2: epochs training only the head on the frozen base', toInt, MOBILENET_DEFAULTS.headEpochs)
    .option('--finetune-from <n>', 'MobileNetV2: first block unfrozen for fine-tuning (1-16)', toInt, MOBILENET_DEFAULTS.finetuneFrom)
    .option('--finetune-lr <x>', 'MobileNetV2: learning rate while fine-tuning', toFloat, MOBILENET_DEFAULTS.finetuneLr)
    .addOption(
      new Option(
        '--finetune-bn <mode>',
        'MobileNetV2: batch norm while fine-tuning: frozen (ImageNet statistics) or adapt (batch statistics)',
      )
        .choices(['frozen', 'adapt'])
        .default(MOBILENET_DEFAULTS.finetuneBatchNorm),
    )
    .option('--cnn-input <n>', 'custom CNN input side (faces are resized from 48)', toInt)
    .option('--cnn-widths <list>', 'custom CNN filters per block, e.g. 32,64,128,256', toList)
    .option('--cnn-convs <list>', 'custom CNN convolutions per block, e.g. 1,1,2,2', toList)
    .addOption(new Option('--quantize <dtype>', 'store weights as float16').choices(['float16']))
    .option(
      '--match-blur <mode>',
      'auto: if the Training faces are blurrier than the validation faces, blur served faces to match; off; or a sigma',
      D.matchBlur,
    )
    .option('--checkpoint-minutes <n>', 'also checkpoint mid-epoch this often (0: off)', toFloat, D.checkpointMinutes)
    .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu (default: best available)')
    .option(
      '--threads <n>',
      'wasm: compute threads (default 1; without the OpenBLAS kernels, give the number of cores to a run that has the machine to itself; with them, or for runs sharing it, 1)',
      toPositiveInt,
    );
}

function toPositiveInt(v: string): number {
  const n = toInt(v);
  if (n < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return n;
}

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('Expected a whole number.');
  return n;
}
function toPositiveFloat(v: string): number {
  const n = toFloat(v);
  if (!(n > 0)) throw new InvalidArgumentError('Expected a number above 0.');
  return n;
}
function toFloat(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('Expected a number.');
  return n;
}
function toList(v: string): number[] {
  return v.split(',').map(toInt);
}

export interface TrainOptions {
  arch: ArchName;
  data: string;
  name?: string;
  out?: string;
  runs: string;
  epochs?: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr?: number;
  momentum: number;
  schedule: 'plateau' | 'cosine';
  cosineCycle?: number;
  plateauPatience: number;
  plateauFactor: number;
  minLr: number;
  patience: number;
  classWeight: Rebalance;
  sampling: Rebalance;
  loss: 'ce' | 'focal';
  focalGamma: number;
  init?: string;
  labelSmoothing: number;
  mix: 'none' | MixKind;
  mixAlpha?: number;
  teacher?: string;
  teacherWeight?: number;
  ema?: number;
  augment: boolean;
  seed: number;
  skipBad?: boolean;
  resume?: boolean;
  base: string;
  alpha: number;
  inputSize: number;
  headEpochs: number;
  finetuneFrom: number;
  finetuneLr: number;
  finetuneBn: 'frozen' | 'adapt';
  cnnInput?: number;
  cnnWidths?: number[];
  cnnConvs?: number[];
  quantize?: 'float16';
  checkpointMinutes: number;
  backend?: string;
  threads?: number;
  matchBlur: string;
}

/** Combinations of options that cannot be meant; thrown before anything is loaded. */
export function checkOptions(o: TrainOptions): void {
  if (o.mixAlpha !== undefined && o.mix === 'none') throw new Error('--mix-alpha needs --mix mixup or --mix cutmix');
  if (o.teacherWeight !== undefined && !o.teacher) throw new Error('--teacher-weight needs --teacher');
  if (o.teacherWeight !== undefined && !(o.teacherWeight > 0 && o.teacherWeight <= 1))
    throw new Error(`--teacher-weight must be above 0 and at most 1 (got ${o.teacherWeight})`);
}

/** The settings a run with these options trains with; `inputBlur` is resolved from the data (--match-blur). */
export function settingsFromOptions(o: TrainOptions, inputBlur: number): TrainSettings {
  const arch = architectureOf(o.arch);
  return {
    name: o.name ?? arch.modelName,
    arch: o.arch,
    epochs: o.epochs ?? arch.defaults.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    lr: o.lr ?? D.lr[o.optimizer],
    momentum: o.momentum,
    schedule: o.schedule,
    cosineCycle: o.cosineCycle ?? arch.defaults.cosineCycle,
    plateauPatience: o.plateauPatience,
    plateauFactor: o.plateauFactor,
    minLr: o.minLr,
    earlyStopPatience: o.patience,
    classWeight: o.classWeight,
    sampling: o.sampling,
    loss: o.loss,
    focalGamma: o.focalGamma,
    init: o.init ?? null,
    labelSmoothing: o.labelSmoothing,
    // Absent when off, so the settings of runs from before mixing existed still read as the defaults.
    ...(o.mix !== 'none' ? { mix: { kind: o.mix, alpha: o.mixAlpha ?? MIX_ALPHA[o.mix] } } : {}),
    ...(o.teacher ? { teacher: { model: o.teacher, weight: o.teacherWeight ?? D.teacherWeight } } : {}),
    ema: o.ema ?? arch.defaults.ema,
    augment: o.augment ? DEFAULT_AUGMENT : NO_AUGMENT,
    seed: o.seed,
    quantize: o.quantize ?? null,
    checkpointMinutes: o.checkpointMinutes,
    inputBlur,
    cnn: {
      ...(o.cnnInput ? { inputSize: o.cnnInput } : {}),
      ...(o.cnnWidths ? { widths: o.cnnWidths } : {}),
      ...(o.cnnConvs ? { convsPerBlock: o.cnnConvs } : {}),
    },
    alpha: o.alpha,
    inputSize: o.inputSize,
    base: arch.usesBase ? o.base : null,
    headEpochs: o.headEpochs,
    finetuneFrom: o.finetuneFrom,
    finetuneLr: o.finetuneLr,
    finetuneBatchNorm: o.finetuneBn,
    dropout: MOBILENET_DEFAULTS.dropout,
  };
}
