/**
 * Face figures (issue 5), one JSON-able object:
 *  - detection time on a 640x480 and a 1920x1080 photo, for BlazeFace (ours)
 *    and face-api's SSD MobileNet v1 (the candidate we did not choose), and
 *    how many of the 22 faces in the six demo photos each finds;
 *  - end-to-end POST /api/predict p50/p99 over loopback HTTP for a one-face
 *    640x480 photo and the five-face demo photo;
 *  - the same photos through @vladmandic/human's own detect-and-emotion
 *    pipeline in the same process, and the latency ratio ours / theirs.
 * Photos are the demo images of @vladmandic/face-api (read from node_modules).
 * When models/ has no model, an untrained custom CNN of the default
 * architecture stands in: the weights do not change the time.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../inference/decode.js';
import { DETECTORS, getFaceDetector, type DetectorName } from '../inference/detect/index.js';
import { packageDir } from '../inference/detect/package-dir.js';
import { findFaces } from '../inference/faces.js';
import { analyseImage } from '../inference/pipeline.js';
import { disposeRegistry, loadRegistry, type ModelRegistry } from '../inference/registry.js';
import { createApp } from '../server/app.js';
import { listen } from '../server/listen.js';
import { initBackend, tf } from '../tf/backend.js';
import { saveModelFolder } from '../tf/model-io.js';
import { buildCustomCnn, CNN_INPUT } from '../training/architectures/custom-cnn.js';
import { LABELS } from '../types.js';
import { loadHumanPeer } from './human-peer.js';

export interface Stat { n: number; p50: number; p99: number; mean: number }

export interface FacesBenchOptions {
  modelsDir?: string;
  /** Timed runs per figure (after one warm-up). */
  iterations?: number;
  log?: (msg: string) => void;
}

const DEMO_FACES: Record<string, number> = { sample1: 3, sample2: 3, sample3: 3, sample4: 4, sample5: 5, sample6: 4 };
const DECODE = { maxPixels: 50_000_000 };

function stat(times: number[]): Stat {
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, p50: r(q(0.5)), p99: r(q(0.99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

async function timeIt(iterations: number, fn: () => Promise<unknown>): Promise<Stat> {
  await fn(); // warm-up: kernels compiled, caches filled
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return stat(times);
}

function demoDir(): string {
  const dir = packageDir('@vladmandic/face-api');
  const demo = dir && path.join(dir, 'demo');
  if (!demo || !fs.existsSync(path.join(demo, 'sample1.jpg'))) throw new Error('the @vladmandic/face-api demo photos are not installed');
  return demo;
}

/** The photos the figures use. */
async function photos(demo: string) {
  const read = (id: string) => fs.readFileSync(path.join(demo, `${id}.jpg`));
  const cover = (b: Buffer, w: number, h: number) => sharp(b).resize(w, h, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  return {
    detect640: await cover(read('sample1'), 640, 480),
    detect1080: await cover(read('sample1'), 1920, 1080),
    // The left woman of sample3 with some room around her: one face, 640x480.
    oneFace: await sharp(read('sample3')).extract({ left: 200, top: 150, width: 800, height: 600 }).resize(640, 480).jpeg({ quality: 90 }).toBuffer(),
    fiveFaces: read('sample5'),
    all: Object.keys(DEMO_FACES).map((id) => ({ id, bytes: read(id) })),
  };
}

/** The registry to serve from: the real models, or a stand-in of the same size. */
async function benchRegistry(modelsDir: string, log: (m: string) => void): Promise<{ registry: ModelRegistry; standIn: boolean; cleanup(): Promise<void> }> {
  const registry = await loadRegistry(modelsDir);
  if (registry.models.length > 0) return { registry, standIn: false, cleanup: async () => {} };
  log(`bench faces: no model in ${modelsDir}; timing an untrained custom CNN of the default architecture`);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ekspresi-bench-'));
  const card = {
    name: 'custom-cnn-untrained', arch: 'cnn', input: CNN_INPUT, labels: [...LABELS], trained_on: 'nothing (bench stand-in)',
    params: 0, created: new Date().toISOString(), metrics: {}, history: [],
  };
  await saveModelFolder(path.join(dir, 'custom-cnn-untrained'), buildCustomCnn(), { 'card.json': JSON.stringify(card) });
  return { registry: await loadRegistry(dir), standIn: true, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

export async function benchFaces(options: FacesBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = options.log ?? (() => {});
  const n = options.iterations ?? 30;
  const backend = await initBackend();
  const demo = demoDir();
  const p = await photos(demo);

  // Detection alone, on the decoded working copy (what findFaces sees).
  const detection: Record<string, unknown> = {};
  const quality: Record<string, unknown> = {};
  for (const name of DETECTORS as readonly DetectorName[]) {
    const detector = await getFaceDetector(name);
    const per: Record<string, Stat> = {};
    for (const [size, bytes] of [['640x480', p.detect640], ['1920x1080', p.detect1080]] as const) {
      const image = await decodeImage(bytes, DECODE);
      per[size] = await timeIt(Math.max(5, Math.round(n / 2)), () => findFaces(image, { detector: name }));
    }
    detection[name] = { source: detector.source, ...per };
    const found: Record<string, string> = {};
    let hits = 0;
    let extra = 0;
    for (const { id, bytes } of p.all) {
      const k = (await findFaces(await decodeImage(bytes, DECODE), { detector: name })).length;
      found[id] = `${k}/${DEMO_FACES[id]}`;
      hits += Math.min(k, DEMO_FACES[id]);
      extra += Math.max(0, k - DEMO_FACES[id]);
    }
    quality[name] = { faces_found: hits, faces_expected: Object.values(DEMO_FACES).reduce((a, b) => a + b, 0), extra_boxes: extra, per_photo: found };
    log(`bench faces: ${name} ${JSON.stringify(per)}`);
  }
  const decodeMs = {
    '640x480': await timeIt(n, () => decodeImage(p.detect640, DECODE)),
    '1920x1080': await timeIt(n, () => decodeImage(p.detect1080, DECODE)),
  };

  // End to end through the real server on loopback.
  const { registry, standIn, cleanup } = await benchRegistry(options.modelsDir ?? 'models', log);
  const entry = registry.get()!;
  const server = await listen(createApp({ registry, log: () => {} }), 0, '127.0.0.1');
  const post = async (bytes: Buffer): Promise<number> => {
    const res = await fetch(`${server.url}/api/predict`, { method: 'POST', body: new Uint8Array(bytes), headers: { 'content-type': 'image/jpeg' } });
    const body = await res.json() as { faces?: unknown[]; error?: string };
    if (!res.ok) throw new Error(`POST /api/predict: ${res.status} ${body.error}`);
    return body.faces?.length ?? 0;
  };
  let http: Record<string, unknown>;
  let inProcess: Record<string, Stat>;
  try {
    http = {
      one_face_640x480: { faces: await post(p.oneFace), ...await timeIt(n, () => post(p.oneFace)) },
      five_faces: { faces: await post(p.fiveFaces), ...await timeIt(n, () => post(p.fiveFaces)) },
    };
    inProcess = {
      one_face_640x480: await timeIt(n, () => analyseImage(p.oneFace, entry, { ...DECODE })),
      five_faces: await timeIt(n, () => analyseImage(p.fiveFaces, entry, { ...DECODE })),
    };
  } finally {
    await server.close();
    disposeRegistry(registry);
    await cleanup();
  }
  log(`bench faces: POST /api/predict ${JSON.stringify(http)}`);

  // The peer, last: it loads three more graph models into the same engine.
  let peer: Record<string, unknown>;
  let ratio: Record<string, number> | null = null;
  try {
    const human = await loadHumanPeer();
    const one = await timeIt(n, () => human.analyse(p.oneFace));
    const five = await timeIt(n, () => human.analyse(p.fiveFaces));
    peer = {
      source: human.source,
      one_face_640x480: { faces: (await human.analyse(p.oneFace)).length, ...one },
      five_faces: { faces: (await human.analyse(p.fiveFaces)).length, ...five },
      note: 'in process, sharp decode + human.detect; no HTTP',
    };
    const r = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const h = http as { one_face_640x480: Stat; five_faces: Stat };
    ratio = {
      http_one_face_p50: r(h.one_face_640x480.p50, one.p50),
      http_five_faces_p50: r(h.five_faces.p50, five.p50),
      in_process_one_face_p50: r(inProcess.one_face_640x480.p50, one.p50),
      in_process_five_faces_p50: r(inProcess.five_faces.p50, five.p50),
    };
  } catch (e) {
    peer = { error: `@vladmandic/human could not run here: ${(e as Error).message}` };
  }

  return {
    backend,
    cpus: os.cpus().length,
    load_average_1m: Math.round(os.loadavg()[0] * 100) / 100,
    model: { id: entry.id, arch: entry.card.arch, stand_in: standIn },
    iterations: n,
    detection_ms: detection,
    detection_quality: quality,
    decode_ms: decodeMs,
    predict_http_ms: http,
    analyse_in_process_ms: inProcess,
    peer_human_ms: peer,
    ratio_ours_over_human: ratio,
    tensors_after: tf.memory().numTensors,
  };
}
