/**
 * The custom CNN for 48x48 grey faces: VGG-style blocks of 3x3 convolutions
 * with batch norm, ReLU, max-pooling and dropout, as in the strongest FER2013
 * single networks (Khaireddin & Chen 2021), narrowed so an epoch trains in
 * minutes on two CPU cores.
 */
import { tf } from '../../tf/backend.js';
import { FACE_SIZE, NUM_CLASSES } from '../../types.js';
import type { InputSpec } from '../../artifacts/card.js';
import { CNN_DEFAULTS } from '../config.js';
import type { Architecture } from './architecture.js';

export function cnnInput(size: number = FACE_SIZE): InputSpec {
  return { size, channels: 1, normalisation: 'unit' };
}

export interface CnnOptions {
  /** Side of the (resized) input face; 48 keeps FER2013's resolution. */
  inputSize?: number;
  /** Filters per block; each block is `convsPerBlock` convs then a 2x2 max-pool. */
  widths?: number[];
  convsPerBlock?: number[];
  dense?: number;
  dropout?: number;
  l2?: number;
  seed?: number;
}

/** The input of a CNN of the default shape. */
export const CNN_INPUT: InputSpec = cnnInput(CNN_DEFAULTS.inputSize);

export function buildCustomCnn(options: CnnOptions = {}): tf.LayersModel {
  const o: Required<Omit<CnnOptions, 'seed'>> = { ...CNN_DEFAULTS, ...options };
  const seed = options.seed ?? 1;
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const reg = o.l2 > 0 ? tf.regularizers.l2({ l2: o.l2 }) : undefined;
  const input = tf.input({ shape: [o.inputSize, o.inputSize, 1], name: 'face' });
  let x: tf.SymbolicTensor = input;
  o.widths.forEach((filters, b) => {
    for (let c = 0; c < o.convsPerBlock[b]; c++) {
      const name = `block${b + 1}_conv${c + 1}`;
      x = tf.layers
        .conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(), kernelRegularizer: reg, name })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: `${name}_bn` }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: `${name}_relu` }).apply(x) as tf.SymbolicTensor;
    }
    x = tf.layers.maxPooling2d({ poolSize: 2, name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor;
    // Light spatial dropout grows with depth, heavier dropout before the head.
    x = tf.layers.dropout({ rate: Math.min(0.1 * (b + 1), 0.3), seed: s++, name: `block${b + 1}_drop` }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .dense({ units: o.dense, useBias: false, kernelInitializer: init(), kernelRegularizer: reg, name: 'fc1' })
    .apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'fc1_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'fc1_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: o.dropout, seed: s++, name: 'fc1_drop' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({
      units: NUM_CLASSES,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }),
      name: 'predictions',
    })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'custom_cnn' });
}

/** One phase: every layer trains from the first epoch. */
export const customCnn: Architecture = {
  modelName: 'custom-cnn',
  defaults: { epochs: CNN_DEFAULTS.epochs, cosineCycle: CNN_DEFAULTS.cosineCycle, ema: CNN_DEFAULTS.ema },
  usesBase: false,
  unread: ['alpha', 'inputSize', 'headEpochs', 'finetuneFrom', 'finetuneLr', 'finetuneBatchNorm', 'dropout'],
  async build(s) {
    return { model: buildCustomCnn({ ...s.cnn, seed: s.seed }), input: cnnInput(s.cnn?.inputSize ?? CNN_DEFAULTS.inputSize) };
  },
  phases: (s) => [{ name: 'train', lastEpoch: s.epochs, firstTopLayer: null }],
};
