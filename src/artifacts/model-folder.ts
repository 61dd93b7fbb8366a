/**
 * A model folder on disk: model.json + weights.bin (TF.js layers format,
 * written and read without tfjs-node, whose file:// handler is unavailable
 * here) + card.json. Saving is atomic (atomic.ts); loading a trained model
 * checks that its card and its weights agree, in words a person can act on.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf/backend.js';
import { NUM_CLASSES } from '../types.js';
import { writeFolderAtomically } from './atomic.js';
import { readCard, type ModelCard } from './card.js';
import { quantizeFloat16, type Quantization } from './float16.js';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  trainingConfig?: object;
}

function concatBuffers(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out.buffer;
}

/** Serialises a model into the files of a TF.js layers-model folder. */
export async function modelFiles(model: tf.LayersModel, quantization: Quantization = null): Promise<Record<string, string | Uint8Array>> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const art = captured as unknown as tf.io.ModelArtifacts;
  let specs = art.weightSpecs ?? [];
  let data = concatBuffers((art.weightData ?? new ArrayBuffer(0)) as ArrayBuffer | ArrayBuffer[]);
  if (quantization === 'float16') ({ specs, data } = quantizeFloat16(specs, data));
  const json: ModelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: art.modelTopology as object,
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  return { 'model.json': JSON.stringify(json), 'weights.bin': new Uint8Array(data) };
}

/** Saves `model` (and any extra files, e.g. card.json) to `dir` atomically. */
export async function saveModelFolder(
  dir: string,
  model: tf.LayersModel,
  extra: Record<string, string | Uint8Array> = {},
  quantization: Quantization = null,
): Promise<void> {
  await writeFolderAtomically(dir, { ...(await modelFiles(model, quantization)), ...extra });
}

/** Reads a model.json and its weight files into memory artifacts. */
export async function readModelArtifacts(modelJsonPath: string): Promise<tf.io.ModelArtifacts> {
  const dir = path.dirname(modelJsonPath);
  let json: ModelJson;
  try {
    json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (e) {
    throw new Error(`${modelJsonPath}: cannot read model.json (${(e as Error).message})`, { cause: e });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${modelJsonPath}: not a TF.js layers model (no modelTopology/weightsManifest)`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const b = await fs.readFile(path.join(dir, p));
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: concatBuffers(buffers) };
}

/** Loads a model from the files `modelFiles` made, without writing them anywhere. */
export async function loadModelFromFiles(files: Record<string, string | Uint8Array>): Promise<tf.LayersModel> {
  const json = JSON.parse(files['model.json'] as string) as ModelJson;
  const bin = files['weights.bin'] as Uint8Array;
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    }),
  );
}

/** Loads a layers model from a folder (or a model.json path) on disk. */
export async function loadModelFolder(dirOrJson: string): Promise<tf.LayersModel> {
  const jsonPath = dirOrJson.endsWith('.json') ? dirOrJson : path.join(dirOrJson, 'model.json');
  const artifacts = await readModelArtifacts(jsonPath);
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Loads a layers model from a path or an http(s) URL (the ImageNet base). */
export async function loadModelFrom(pathOrUrl: string): Promise<tf.LayersModel> {
  if (/^https?:\/\//.test(pathOrUrl)) return tf.loadLayersModel(pathOrUrl);
  return loadModelFolder(pathOrUrl);
}

export interface LoadedModelFolder {
  dir: string;
  card: ModelCard;
  model: tf.LayersModel;
}

/** Loads a trained network's folder: the card and the model, checked to agree (an ensemble: inference/registry.ts). */
export async function loadTrainedModel(dir: string): Promise<LoadedModelFolder> {
  const card = await readCard(dir);
  if (card.members) throw new Error(`${dir} is an ensemble of ${card.members.join(', ')}, not one network`);
  const model = await loadModelFolder(dir);
  const [, h, w, c] = model.inputs[0].shape;
  const outShape = model.outputs[0].shape;
  let problem: string | null = null;
  if (h !== card.input.size || w !== card.input.size || c !== card.input.channels) {
    problem = `model input ${JSON.stringify(model.inputs[0].shape)} does not match card input ${card.input.size}x${card.input.size}x${card.input.channels}`;
  } else if (outShape[outShape.length - 1] !== NUM_CLASSES) {
    problem = `model output ${JSON.stringify(outShape)} does not have ${NUM_CLASSES} classes`;
  }
  if (problem) {
    model.dispose();
    throw new Error(problem);
  }
  return { dir, card, model };
}
