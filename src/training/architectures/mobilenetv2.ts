/**
 * MobileNetV2 (Sandler et al. 2018) in TF.js layers with the Keras layer names,
 * so ImageNet weights from a Keras/Teachable Machine base copy over by name.
 * Faces are resized (default 96x96) and their grey channel replicated to RGB.
 */
import { tf } from '../../tf/backend.js';
import { NUM_CLASSES } from '../../types.js';
import type { InputSpec } from '../../artifacts/card.js';
import { loadModelFrom } from '../../artifacts/model-folder.js';
import { MOBILENET_DEFAULTS } from '../config.js';
import type { Architecture, Phase } from './architecture.js';

export interface MobileNetOptions {
  alpha?: number;
  inputSize?: number;
  dropout?: number;
  seed?: number;
}

export function mobilenetInput(size = 96): InputSpec {
  return { size, channels: 3, normalisation: 'symmetric' };
}

/** Keras's _make_divisible: channel counts rounded to multiples of 8. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

type ST = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: ST | ST[]): ST => layer.apply(x) as ST;
const bn = (name: string) => tf.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name });
const relu6 = (name: string) => tf.layers.reLU({ maxValue: 6, name });
// Keras's correct_pad for an even input and a 3x3 kernel.
const pad = (name: string) =>
  tf.layers.zeroPadding2d({
    padding: [
      [0, 1],
      [0, 1],
    ],
    name,
  });

function invertedResidual(x: ST, expansion: number, stride: number, alpha: number, filters: number, id: number): ST {
  const inChannels = x.shape[x.shape.length - 1] as number;
  const pointwise = makeDivisible(Math.trunc(filters * alpha));
  const inputs = x;
  let prefix = 'expanded_conv_';
  if (id > 0) {
    prefix = `block_${id}_`;
    x = apply(
      tf.layers.conv2d({ filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` }),
      x,
    );
    x = apply(bn(`${prefix}expand_BN`), x);
    x = apply(relu6(`${prefix}expand_relu`), x);
  }
  if (stride === 2) x = apply(pad(`${prefix}pad`), x);
  x = apply(
    tf.layers.depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      useBias: false,
      padding: stride === 1 ? 'same' : 'valid',
      name: `${prefix}depthwise`,
    }),
    x,
  );
  x = apply(bn(`${prefix}depthwise_BN`), x);
  x = apply(relu6(`${prefix}depthwise_relu`), x);
  x = apply(tf.layers.conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` }), x);
  x = apply(bn(`${prefix}project_BN`), x);
  if (inChannels === pointwise && stride === 1) x = apply(tf.layers.add({ name: `${prefix}add` }), [inputs, x]);
  return x;
}

/** [expansion, stride, filters] of blocks 0..16, as in Keras Applications. */
const BLOCKS: Array<[number, number, number]> = [
  [1, 1, 16],
  [6, 2, 24],
  [6, 1, 24],
  [6, 2, 32],
  [6, 1, 32],
  [6, 1, 32],
  [6, 2, 64],
  [6, 1, 64],
  [6, 1, 64],
  [6, 1, 64],
  [6, 1, 96],
  [6, 1, 96],
  [6, 1, 96],
  [6, 2, 160],
  [6, 1, 160],
  [6, 1, 160],
  [6, 1, 320],
];

/** The convolutional base (include_top=False) ending at `out_relu`. */
export function buildMobileNetV2Base(inputSize: number, alpha = 0.35): { input: ST; features: ST } {
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_1' });
  let x = apply(pad('Conv1_pad'), input);
  x = apply(
    tf.layers.conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'Conv1' }),
    x,
  );
  x = apply(bn('bn_Conv1'), x);
  x = apply(relu6('Conv1_relu'), x);
  BLOCKS.forEach(([e, s, f], id) => {
    x = invertedResidual(x, e, s, alpha, f, id);
  });
  x = apply(
    tf.layers.conv2d({ filters: alpha > 1 ? makeDivisible(1280 * alpha) : 1280, kernelSize: 1, useBias: false, name: 'Conv_1' }),
    x,
  );
  x = apply(bn('Conv_1_bn'), x);
  x = apply(relu6('out_relu'), x);
  return { input, features: x };
}

/** Base + a new classification head for the 7 expressions. */
export function buildMobileNetV2(options: MobileNetOptions = {}): tf.LayersModel {
  const { alpha = 0.35, inputSize = 96, dropout = 0.3, seed = 1 } = options;
  const { input, features } = buildMobileNetV2Base(inputSize, alpha);
  let x = apply(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), features);
  x = apply(tf.layers.dropout({ rate: dropout, seed, name: 'head_dropout' }), x);
  const out = apply(
    tf.layers.dense({
      units: NUM_CLASSES,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      name: 'predictions',
    }),
    x,
  );
  return tf.model({ inputs: input, outputs: out, name: 'mobilenetv2_fer' });
}

/**
 * Keeps every batch-norm layer of the base in inference mode (its ImageNet
 * moving statistics), even when the model is applied with training=true, while
 * its scale and offset still train. Keras recommends this for fine-tuning: with
 * momentum 0.999 the moving statistics would otherwise lag far behind the
 * batch statistics the weights adapt to, and validation accuracy collapses.
 */
export function keepBatchNormInInference(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: false });
  }
}

/**
 * The other way to fine-tune: batch norm of the unfrozen blocks normalises with
 * each batch's statistics and updates its moving averages faster (momentum
 * 0.99), so it adapts to grey faces instead of keeping ImageNet's statistics.
 */
export function adaptBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() === 'BatchNormalization') (layer as unknown as { momentum: number }).momentum = 0.99;
  }
}

/** Names of every layer that belongs to the ImageNet base (not the head). */
export function isHeadLayer(name: string): boolean {
  return name === 'global_average_pooling2d' || name === 'head_dropout' || name === 'predictions';
}

/** Index of the first block whose layers are unfrozen in the fine-tuning phase. */
export function blockOfLayer(name: string): number {
  if (name.startsWith('Conv1') || name === 'bn_Conv1') return -1;
  if (name.startsWith('expanded_conv_')) return 0;
  const m = /^block_(\d+)_/.exec(name);
  if (m) return Number(m[1]);
  return 17; // Conv_1, Conv_1_bn, out_relu and the head
}

/**
 * Copies weights by layer name from a pretrained base (any input size) into
 * `model`. Every base layer with weights must find a same-named, same-shaped
 * layer; returns how many tensors were copied.
 */
export function copyBaseWeights(base: tf.LayersModel, model: tf.LayersModel): number {
  const target = new Map(model.layers.map((l) => [l.name, l]));
  let copied = 0;
  const visit = (layers: tf.layers.Layer[]) => {
    for (const layer of layers) {
      const inner = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
      if (inner) {
        visit(inner);
        continue;
      }
      const weights = layer.getWeights();
      if (weights.length === 0) continue;
      const dst = target.get(layer.name);
      if (!dst) {
        if (layer.name === 'predictions' || layer.name.startsWith('dense')) continue;
        throw new Error(`pretrained base has layer "${layer.name}" that MobileNetV2 does not`);
      }
      const shapes = dst.getWeights().map((w) => w.shape.join('x'));
      const got = weights.map((w) => w.shape.join('x'));
      if (shapes.join() !== got.join()) {
        throw new Error(
          `pretrained layer "${layer.name}" has shapes ${got.join(', ')}, expected ${shapes.join(', ')} (is the base alpha right?)`,
        );
      }
      dst.setWeights(weights);
      copied += weights.length;
    }
  };
  visit(base.layers);
  return copied;
}

/** The first layer of fine-tuning from block `block` (1-16): the split point of the fine-tuning phase. */
export const finetuneStartLayer = (block: number): string => `block_${block}_expand`;

/**
 * First only a new head on the frozen ImageNet base (kept as its own artifact, `<name>-frozen`), then
 * fine-tuning from block `finetuneFrom` up at a lower learning rate.
 */
export const mobileNetV2: Architecture = {
  modelName: 'mobilenetv2',
  defaults: { epochs: MOBILENET_DEFAULTS.epochs, cosineCycle: MOBILENET_DEFAULTS.cosineCycle, ema: MOBILENET_DEFAULTS.ema },
  usesBase: true,
  unread: ['cnn'],
  async build(s, log) {
    const model = buildMobileNetV2({ alpha: s.alpha, inputSize: s.inputSize, dropout: s.dropout, seed: s.seed });
    if (s.finetuneBatchNorm === 'adapt') adaptBatchNorm(model);
    else keepBatchNormInInference(model);
    if (s.base) {
      const base = await loadModelFrom(s.base).catch((e: Error) => {
        throw new Error(`cannot load the ImageNet base from ${s.base}: ${e.message}`);
      });
      const n = copyBaseWeights(base, model);
      base.dispose();
      log(`copied ${n} ImageNet weight tensors from ${s.base}`);
    } else {
      log('no --base: MobileNetV2 starts from random weights');
    }
    return { model, input: mobilenetInput(s.inputSize) };
  },
  phases(s) {
    const head = Math.min(s.headEpochs, s.epochs);
    const phases: Phase[] = [
      {
        name: 'head',
        lastEpoch: head,
        firstTopLayer: 'global_average_pooling2d',
        lr: s.lr,
        artifact: `${s.name}-frozen`,
        artifactNote:
          'ImageNet MobileNetV2 used as it is (frozen, inference-mode batch norm); only the new classification head was trained.',
      },
    ];
    if (s.epochs > head) {
      phases.push({ name: 'finetune', lastEpoch: s.epochs, firstTopLayer: finetuneStartLayer(s.finetuneFrom), lr: s.finetuneLr });
    }
    return phases;
  },
};
