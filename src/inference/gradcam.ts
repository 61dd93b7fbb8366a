/**
 * Grad-CAM (Selvaraju et al. 2017): where in the face the model found the
 * evidence for a class. The last convolutional feature maps A (h x w x k) are
 * weighted by the mean gradient of the class score over each map, summed and
 * passed through ReLU; the result is scaled to 0-1 and resized to 48x48.
 *
 * The class score is the logit (before softmax) when the model ends in a
 * softmax Dense layer, because the softmax output saturates: a face the model
 * is sure about would otherwise get a near-zero gradient everywhere.
 *
 * Works for any model whose layers after the last 4-D feature map form a
 * plain chain (our custom CNN: ...conv-relu, pool, dropout, flatten, dense...;
 * MobileNetV2: out_relu, global pooling, dropout, dense). Gradients run on
 * whatever backend is active; on wasm they need src/tf/wasm-gradients.ts.
 */
import { tf } from '../tf/backend.js';
import { FACE_SIZE, NUM_CLASSES } from '../types.js';
import { facesToTensor } from './preprocess.js';
import type { LoadedModel, LoadedNetwork } from './registry.js';

type Layer = tf.layers.Layer;

/** Layers that only pool, drop or reshape: Grad-CAM looks through them to the conv output before them. */
const PASS_THROUGH = new Set(['MaxPooling2D', 'AveragePooling2D', 'Dropout', 'SpatialDropout2D', 'GaussianDropout', 'GaussianNoise']);

export interface CamModel {
  /** Name of the layer whose output is explained. */
  layer: string;
  /** Input -> that layer's feature maps. */
  features: tf.LayersModel;
  /** Feature maps -> class logits. */
  head: (a: tf.Tensor4D) => tf.Tensor2D;
}

function singleInbound(layer: Layer): Layer | null {
  if (layer.inboundNodes.length !== 1) return null;
  const inputs = layer.inboundNodes[0].inboundLayers;
  return inputs.length === 1 ? inputs[0] : null;
}

/** Finds the layer to explain and builds the two halves around it. */
export function buildCamModel(model: tf.LayersModel): CamModel {
  const chain: Layer[] = [];
  let layer: Layer | null = model.layers[model.layers.length - 1];
  while (layer) {
    const shape = layer.outputShape as number[];
    const spatial = Array.isArray(shape) && shape.length === 4 && (shape[1] ?? 0) > 1;
    if (spatial && !PASS_THROUGH.has(layer.getClassName())) break;
    chain.unshift(layer);
    layer = singleInbound(layer);
  }
  if (!layer || chain.length === 0)
    throw new Error('Grad-CAM: no convolutional feature map followed by a plain chain of layers in this model');
  const target = layer;
  const features = tf.model({ inputs: model.inputs, outputs: target.output as tf.SymbolicTensor });

  // A softmax Dense at the end: score its logits instead (see the file comment).
  const last = chain[chain.length - 1];
  const lastConfig = last.getConfig() as { activation?: unknown };
  const softmaxDense = last.getClassName() === 'Dense' && lastConfig.activation === 'softmax';
  const body = softmaxDense ? chain.slice(0, -1) : chain;
  const head = (a: tf.Tensor4D): tf.Tensor2D => {
    let y: tf.Tensor = a;
    for (const l of body) y = l.apply(y) as tf.Tensor;
    if (!softmaxDense) return y as tf.Tensor2D;
    const [kernel, bias] = last.getWeights();
    const logits = tf.matMul(y as tf.Tensor2D, kernel as tf.Tensor2D);
    return (bias ? tf.add(logits, bias) : logits) as tf.Tensor2D;
  };
  return { layer: target.name, features, head };
}

const cache = new WeakMap<tf.LayersModel, CamModel>();

function camModelOf(entry: LoadedNetwork): CamModel {
  let cam = cache.get(entry.model);
  if (!cam) {
    cam = buildCamModel(entry.model);
    cache.set(entry.model, cam);
  }
  return cam;
}

/**
 * Grad-CAM maps for n faces (48x48 grey, 0-255, concatenated), each for its
 * own class index. Returns n maps of 48x48 values in 0-1 (row-major,
 * concatenated); a map is all zeros when nothing in the face speaks for the class.
 */
export function gradCam(entry: LoadedModel, faces: Uint8Array, classes: number[]): Float32Array {
  const n = classes.length;
  if (n === 0) return new Float32Array(0);
  if (faces.length !== n * FACE_SIZE * FACE_SIZE) throw new Error(`gradCam: ${faces.length} pixels for ${n} faces`);
  if (entry.kind === 'ensemble') return ensembleCam(entry.members.map((m) => networkCam(m, faces, classes)));
  return networkCam(entry, faces, classes);
}

/** An ensemble's map: the mean of its members' maps (each already at 48x48), rescaled to peak at 1. */
function ensembleCam(maps: Float32Array[]): Float32Array {
  const out = new Float32Array(maps[0].length);
  for (const m of maps) for (let i = 0; i < out.length; i++) out[i] += m[i];
  const pixels = FACE_SIZE * FACE_SIZE;
  for (let off = 0; off < out.length; off += pixels) {
    let peak = 0;
    for (let i = off; i < off + pixels; i++) peak = Math.max(peak, out[i]);
    if (peak > 0) for (let i = off; i < off + pixels; i++) out[i] /= peak;
  }
  return out;
}

function networkCam(entry: LoadedNetwork, faces: Uint8Array, classes: number[]): Float32Array {
  const cam = camModelOf(entry);
  const maps = tf.tidy(() => {
    const x = facesToTensor(faces, entry.card.input);
    const a = cam.features.predict(x) as tf.Tensor4D;
    const pick = tf.oneHot(tf.tensor1d(classes, 'int32'), NUM_CLASSES).toFloat();
    // Each face's own class score; summing over the batch keeps the faces'
    // gradients apart because face i's score depends only on face i's maps.
    const grads = tf.grad((maps: tf.Tensor) => tf.sum(tf.mul(cam.head(maps as tf.Tensor4D), pick)))(a);
    const weights = tf.mean(grads, [1, 2], true); // [n, 1, 1, k]
    const heat = tf.relu(tf.sum(tf.mul(a, weights), -1, true)) as tf.Tensor4D; // [n, h, w, 1]
    const resized = tf.image.resizeBilinear(heat, [FACE_SIZE, FACE_SIZE], true);
    const peak = tf.max(resized, [1, 2, 3], true);
    return tf.div(resized, tf.maximum(peak, 1e-12));
  });
  try {
    return maps.dataSync() as Float32Array;
  } finally {
    maps.dispose();
  }
}

/**
 * A colour map for the heat (dark blue -> cyan -> green -> yellow -> red),
 * the usual Grad-CAM look; stops from Google's "turbo".
 */
const STOPS: Array<[number, number, number]> = [
  [48, 18, 59],
  [70, 134, 251],
  [27, 229, 181],
  [164, 252, 60],
  [251, 185, 56],
  [228, 70, 11],
  [122, 4, 3],
];

export function heatColour(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

/**
 * One 48x48 map as RGBA pixels for an overlay: colour from the map, and
 * transparent where the map is cold so the face shows through.
 */
export function heatmapRgba(map: Float32Array): Uint8Array {
  const out = new Uint8Array(map.length * 4);
  for (let i = 0; i < map.length; i++) {
    const v = map[i];
    const [r, g, b] = heatColour(v);
    out.set([r, g, b, Math.round(255 * (0.15 + 0.6 * Math.min(1, Math.max(0, v))))], i * 4);
  }
  return out;
}
