/**
 * A trained layers model compiled for inference: every batch norm folded into the convolution or dense
 * layer before it, and every ReLU into the op before it, so one conv-BN-ReLU block is one fused TF.js kernel
 * instead of four or five. A MobileNetV2 runs a quarter of the kernels `model.predict` runs (126 of 505); with the
 * per-kernel overhead of small inputs that is most of its time.
 *
 * Only the layer types our architectures use are compiled; `compileForInference` returns null for any
 * other model, and the caller keeps `model.predict`. Same answers as `model.predict` within float32
 * rounding (tests/unit/fused-model.test.ts).
 *
 * The file imports nothing at run time (the TF.js namespace is a parameter): private mode serves this same
 * source to the browser with its types stripped (routes/private.ts), so the browser runs the same compiler.
 */
import type * as TF from '@tensorflow/tfjs';

/** The TF.js namespace of the caller: Node's (src/tf/backend.ts) or the browser's `window.tf`. */
export type Tf = typeof TF;

/** Runs the compiled model on a batch (inside the caller's tf.tidy, like `model.predict`). */
export type InferenceFn = (x: TF.Tensor4D) => TF.Tensor;

export interface CompiledModel {
  run: InferenceFn;
  /** The constant tensors it holds (folded weights): dispose with the model. */
  dispose(): void;
}

type Activation = 'linear' | 'relu' | 'relu6';
type Step = (inputs: TF.Tensor[]) => TF.Tensor;

interface Node {
  layer: TF.layers.Layer;
  className: string;
  config: Record<string, unknown>;
  inputs: string[];
}

/** The weighted layers batch norm and ReLU fold into. */
const FOLD_TARGETS = new Set(['Conv2D', 'DepthwiseConv2D', 'Dense']);
const SUPPORTED = new Set([
  'InputLayer',
  'ZeroPadding2D',
  'Conv2D',
  'DepthwiseConv2D',
  'Dense',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'Add',
  'MaxPooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dropout',
]);

/**
 * The compiled model if it also gives model.predict's answers (within 1e-3) on a random input of the model's
 * size, so every channel is exercised; otherwise null, and the caller keeps model.predict. Costs one
 * prediction of each, once per model.
 */
export function compileChecked(tf: Tf, model: TF.LayersModel, input: { size: number; channels: number }): CompiledModel | null {
  const compiled = compileForInference(tf, model);
  if (!compiled) return null;
  let gap = Infinity;
  try {
    gap = tf.tidy(() => {
      const x = tf.randomUniform([2, input.size, input.size, input.channels], 0, 1, 'float32', 1) as TF.Tensor4D;
      return tf.max(tf.abs(tf.sub(model.predict(x) as TF.Tensor, compiled.run(x)))).dataSync()[0];
    });
  } catch {
    // a shape a fused op refuses: model.predict serves
  }
  if (gap <= 1e-3) return compiled;
  compiled.dispose();
  return null;
}

/** The compiled model, or null when it holds a layer (or a layout) this does not compile. */
export function compileForInference(tf: Tf, model: TF.LayersModel): CompiledModel | null {
  const nodes = graphOf(model);
  if (!nodes) return null;
  const consumers = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const outputName = model.outputs.length === 1 ? model.outputs[0].sourceLayer.name : null;
  const inputName = model.inputs.length === 1 ? model.inputs[0].sourceLayer.name : null;
  if (!outputName || !inputName) return null;

  const kept: TF.Tensor[] = [];
  const keep = <T extends TF.Tensor>(t: T): T => {
    kept.push(t);
    return t;
  };
  // A folded or identity layer's name -> the name of the layer whose value it is.
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let n = name;
    while (alias.has(n)) n = alias.get(n)!;
    return n;
  };
  // Whether a layer reading `name` is the only reader of it and of every layer it stands for: folding into a
  // layer that another layer also reads would change that other layer's input.
  const soleConsumer = (name: string): boolean => {
    for (let n: string | undefined = name; n !== undefined; n = alias.get(n)) if (consumers.get(n) !== 1 || n === outputName) return false;
    return true;
  };
  const ops: Array<{ name: string; inputs: string[]; step?: Step; weighted?: Weighted }> = [];
  const weighted = new Map<string, Weighted>();
  const defined = new Set<string>([inputName]);

  try {
    for (const node of nodes) {
      const { className: kind, config, layer } = node;
      if (kind === 'InputLayer') continue;
      const from = node.inputs.map(resolve);
      if (!from.every((n) => defined.has(n))) return null; // not in execution order
      const into = from.length === 1 ? weighted.get(from[0]) : undefined;
      const foldable = into !== undefined && into.activation === 'linear' && soleConsumer(node.inputs[0]);
      const act = reluKind(kind, config);
      if (kind === 'BatchNormalization' && foldable) {
        if (!foldBatchNorm(into, layer, config)) return disposeAll(kept);
      } else if (act && foldable) {
        into.activation = act;
      } else if (kind === 'Dropout') {
        // identity at inference
      } else if (FOLD_TARGETS.has(kind)) {
        const w = weightedOf(node);
        if (!w) return disposeAll(kept);
        weighted.set(layer.name, w);
        ops.push({ name: layer.name, inputs: from, weighted: w });
        defined.add(layer.name);
        continue;
      } else {
        const step = plainStep(tf, kind, config, layer, keep);
        if (!step) return disposeAll(kept);
        ops.push({ name: layer.name, inputs: from, step });
        defined.add(layer.name);
        continue;
      }
      alias.set(layer.name, from[0]);
    }
    // The weighted layers' steps, now that every fold into them is done.
    for (const op of ops) if (op.weighted) op.step = weightedStep(tf, op.weighted, keep);
  } catch {
    // a layout this does not handle (e.g. channels_first): the caller keeps model.predict
    return disposeAll(kept);
  }

  const finalName = resolve(outputName);
  const lastUse = new Map<string, number>();
  ops.forEach((op, i) => op.inputs.forEach((n) => lastUse.set(n, i)));
  return {
    run: (x) => {
      const values = new Map<string, TF.Tensor>([[inputName, x]]);
      ops.forEach((op, i) => {
        values.set(op.name, op.step!(op.inputs.map((n) => values.get(n)!)));
        // Freed once nothing later reads them (the caller's tidy would, but only at its end: this keeps
        // the peak memory of a large batch down).
        for (const n of op.inputs) if (lastUse.get(n) === i && n !== inputName && n !== finalName) values.get(n)!.dispose();
      });
      return values.get(finalName)!;
    },
    dispose: () => kept.forEach((t) => t.dispose()),
  };
}

function disposeAll(kept: TF.Tensor[]): null {
  kept.forEach((t) => t.dispose());
  return null;
}

/** A conv or dense layer's weights, copied so folds can change them, and what follows it in the same kernel. */
interface Weighted {
  node: Node;
  kernel: Float32Array;
  shape: number[];
  bias: Float32Array;
  /** The fused kernel's activation; 'softmax' is applied after it, and nothing folds into it. */
  activation: Activation | 'softmax';
}

function weightedOf(node: Node): Weighted | null {
  const { config, className } = node;
  const w = node.layer.getWeights();
  const shape = w[0].shape as number[];
  const outChannels = className === 'DepthwiseConv2D' ? shape[2] * shape[3] : shape[shape.length - 1];
  const bias = config.useBias ? Float32Array.from(w[1].dataSync()) : new Float32Array(outChannels);
  const a = config.activation;
  const activation = a === undefined || a === 'linear' ? 'linear' : a === 'relu' || a === 'relu6' || a === 'softmax' ? a : null;
  if (activation === null) return null;
  return { node, kernel: Float32Array.from(w[0].dataSync()), shape, bias, activation };
}

/** The layers in execution order with the names of their inputs; null for a layout this does not compile. */
function graphOf(model: TF.LayersModel): Node[] | null {
  const nodes: Node[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (!SUPPORTED.has(className)) return null;
    // A layer used twice (shared weights) has several inbound nodes: not something our models do.
    if (layer.inboundNodes.length !== 1) return null;
    const inputs = layer.inboundNodes[0].inboundLayers.map((l) => l.name);
    nodes.push({ layer, className, config: layer.getConfig() as Record<string, unknown>, inputs });
  }
  return nodes;
}

/** The activation a ReLU (or Activation) layer applies, when it is one a fused kernel can take. */
function reluKind(kind: string, config: Record<string, unknown>): Activation | null {
  if (kind === 'Activation') return config.activation === 'relu' || config.activation === 'relu6' ? config.activation : null;
  if (kind !== 'ReLU') return null;
  if (config.maxValue == null) return 'relu';
  return config.maxValue === 6 ? 'relu6' : null;
}

/**
 * Folds an inference-mode batch norm into the preceding layer's kernel and bias:
 * BN(W x + b) = s * (W x + b - mean) + beta, with s = gamma / sqrt(var + eps).
 * The output channel is the kernel's last axis, or for a depthwise kernel [kh, kw, c, m] the pair (c, m).
 */
function foldBatchNorm(
  into: { kernel: Float32Array; shape: number[]; bias: Float32Array },
  layer: TF.layers.Layer,
  config: Record<string, unknown>,
): boolean {
  const axis = config.axis;
  const rank = into.shape.length === 2 ? 2 : 4;
  if (!(axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === rank - 1))))
    return false;
  const byName = new Map(layer.weights.map((w, i) => [w.originalName.split('/').pop()!, layer.getWeights()[i]]));
  const channels = into.bias.length;
  const ones = new Float32Array(channels).fill(1);
  const read = (name: string, fallback: Float32Array): Float32Array => {
    const t = byName.get(name);
    return t ? (t.dataSync() as Float32Array) : fallback;
  };
  const gamma = config.scale === false ? ones : read('gamma', ones);
  const beta = config.center === false ? new Float32Array(channels) : read('beta', new Float32Array(channels));
  const mean = byName.get('moving_mean')?.dataSync() as Float32Array | undefined;
  const variance = byName.get('moving_variance')?.dataSync() as Float32Array | undefined;
  if (!mean || !variance || mean.length !== channels) return false;
  const eps = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] = gamma[c] / Math.sqrt(variance[c] + eps);
    into.bias[c] = beta[c] + (into.bias[c] - mean[c]) * scale[c];
  }
  // Every layout here has the output channel varying fastest: [.., out], or [.., c, m] flattened to c * m + m'.
  for (let i = 0; i < into.kernel.length; i++) into.kernel[i] *= scale[i % channels];
  return true;
}

function weightedStep(tf: Tf, w: Weighted, keep: <T extends TF.Tensor>(t: T) => T): Step {
  const c = w.node.config;
  const filter = keep(tf.tensor(w.kernel, w.shape));
  const b = keep(tf.tensor1d(w.bias));
  const activation = w.activation === 'softmax' ? 'linear' : w.activation;
  const fused = fusedOp(tf, w.node.className, c, filter, b, activation);
  return w.activation === 'softmax' ? (xs) => tf.softmax(fused(xs)) : fused;
}

function fusedOp(tf: Tf, kind: string, c: Record<string, unknown>, filter: TF.Tensor, b: TF.Tensor1D, activation: Activation): Step {
  if (kind === 'Dense') {
    return ([x]) => tf.fused.matMul({ a: x as TF.Tensor2D, b: filter as TF.Tensor2D, bias: b, activation });
  }
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') throw new Error('channels_first');
  const strides = c.strides as [number, number];
  const dilations = (c.dilationRate as [number, number] | undefined) ?? [1, 1];
  const pad = c.padding as 'same' | 'valid';
  if (kind === 'DepthwiseConv2D') {
    return ([x]) =>
      tf.fused.depthwiseConv2d({ x: x as TF.Tensor4D, filter: filter as TF.Tensor4D, strides, pad, dilations, bias: b, activation });
  }
  return ([x]) => tf.fused.conv2d({ x: x as TF.Tensor4D, filter: filter as TF.Tensor4D, strides, pad, dilations, bias: b, activation });
}

/** Layers that are not folded into anything: the same op the layer runs. */
function plainStep(
  tf: Tf,
  kind: string,
  c: Record<string, unknown>,
  layer: TF.layers.Layer,
  keep: <T extends TF.Tensor>(t: T) => T,
): Step | null {
  if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast') return null;
  switch (kind) {
    case 'ZeroPadding2D': {
      const [[top, bottom], [left, right]] = c.padding as [[number, number], [number, number]];
      return ([x]) =>
        tf.pad(x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ]);
    }
    case 'Add':
      return (xs) => tf.addN(xs);
    case 'MaxPooling2D': {
      const pool = c.poolSize as [number, number];
      const strides = (c.strides as [number, number] | null) ?? pool;
      return ([x]) => tf.maxPool(x as TF.Tensor4D, pool, strides, c.padding as 'same' | 'valid');
    }
    case 'GlobalAveragePooling2D':
      return ([x]) => tf.mean(x, [1, 2]);
    case 'Flatten':
      return ([x]) => tf.reshape(x, [x.shape[0], -1]);
    case 'ReLU':
    case 'Activation': {
      // the same activations reluKind folds, when there is nothing to fold them into
      const act = reluKind(kind, c);
      if (act === 'relu') return ([x]) => tf.relu(x);
      if (act === 'relu6') return ([x]) => tf.relu6(x);
      if (kind === 'Activation' && c.activation === 'softmax') return ([x]) => tf.softmax(x);
      return null;
    }
    case 'BatchNormalization': {
      // One with no layer to fold into: x * s + (beta - mean * s), per channel.
      const channels = layer.getWeights()[0].shape[0];
      const holder = { kernel: new Float32Array(channels).fill(1), shape: [1, channels], bias: new Float32Array(channels) };
      if (!foldBatchNorm(holder, layer, c)) return null;
      const s = keep(tf.tensor1d(holder.kernel));
      const b = keep(tf.tensor1d(holder.bias));
      return ([x]) => tf.add(tf.mul(x, s), b);
    }
    default:
      return null;
  }
}
