/**
 * Saving and loading TF.js layers models to folders without tfjs-node (whose
 * file:// handler is unavailable here). Folders are written atomically: to a
 * temporary sibling first, then renamed into place, so a reader never sees a
 * half-written model.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tf } from './backend.js';

export type Quantization = 'float16' | null;

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
  for (const b of data) { out.set(new Uint8Array(b), off); off += b.byteLength; }
  return out.buffer;
}

/** Re-encodes float32 weights as float16 (the TF.js loader decodes them). */
function quantizeFloat16(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const parts: Uint8Array[] = [];
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  let off = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = size * 4;
    if (spec.dtype === 'float32') {
      const src = new Float32Array(data.slice(off, off + bytes));
      const half = new Uint16Array(size);
      for (let i = 0; i < size; i++) half[i] = toHalf(src[i]);
      parts.push(new Uint8Array(half.buffer));
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      parts.push(new Uint8Array(data.slice(off, off + bytes)));
      outSpecs.push(spec);
    }
    off += bytes;
  }
  return { specs: outSpecs, data: concatBuffers(parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer)) };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** IEEE 754 float32 -> float16 bits, round to nearest even. */
function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return half;
}

function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Tidies what a writer killed mid-write (SIGKILL, power loss) left next to
 * `dir`: its temporary folders (named with its pid) are removed, and if it
 * died between the two renames of the swap (`dir` moved aside, the new folder
 * complete but not yet renamed in), the swap is finished. Folders of live
 * writers are left alone. Call before reading a folder another run may have
 * been writing (--resume); writeFolderAtomically calls it too.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  const prefix = `.${path.basename(dir)}.tmp-`;
  let names: string[];
  try { names = await fs.readdir(parent); } catch { return; }
  const stale = names.filter((n) => {
    if (!n.startsWith(prefix)) return false;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
  });
  if (stale.length === 0) return;
  const hasDir = await fs.stat(dir).then(() => true, () => false);
  if (!hasDir) {
    // A new folder is renamed aside to .old only once the new one is complete.
    const swapped = stale.find((n) => !n.endsWith('.old') && stale.includes(`${n}.old`));
    const old = stale.find((n) => n.endsWith('.old'));
    const restore = swapped ?? old;
    if (restore) await fs.rename(path.join(parent, restore), dir);
  }
  for (const n of stale) await fs.rm(path.join(parent, n), { recursive: true, force: true });
}

/** Writes files into a fresh temporary sibling of `dir`, then swaps it into place. */
export async function writeFolderAtomically(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  await recoverFolder(dir);
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    for (const [name, content] of Object.entries(files)) {
      const fh = await fs.open(path.join(tmp, name), 'w');
      try { await fh.writeFile(content); await fh.sync(); } finally { await fh.close(); }
    }
    const old = `${tmp}.old`;
    let hadOld = false;
    try { await fs.rename(dir, old); hadOld = true; } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
    await fs.rename(tmp, dir);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Serialises a model into the files of a TF.js layers-model folder. */
export async function modelFiles(model: tf.LayersModel, quantization: Quantization = null): Promise<Record<string, string | Uint8Array>> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
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
export async function saveModelFolder(dir: string, model: tf.LayersModel,
  extra: Record<string, string | Uint8Array> = {}, quantization: Quantization = null): Promise<void> {
  await writeFolderAtomically(dir, { ...(await modelFiles(model, quantization)), ...extra });
}

/** Reads a model.json and its weight files into memory artifacts. */
export async function readModelArtifacts(modelJsonPath: string): Promise<tf.io.ModelArtifacts> {
  const dir = path.dirname(modelJsonPath);
  let json: ModelJson;
  try {
    json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (e) {
    throw new Error(`${modelJsonPath}: cannot read model.json (${(e as Error).message})`);
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
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
  }));
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
