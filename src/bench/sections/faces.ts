/**
 * Bench section `faces`:
 *  - detection time on a 640x480 and a 1920x1080 photo, for BlazeFace (ours)
 *    and face-api's SSD MobileNet v1 (the candidate we did not choose), and
 *    how many of the 22 faces in the six demo photos each finds, and how many
 *    boxes beyond them, on the photos, on each face cut out tightly and on
 *    each face with a 30% margin (demo-faces.ts);
 *  - per model, how often a face keeps its label between the full photo and
 *    each crop;
 *  - end-to-end POST /api/predict p50/p99 over loopback HTTP for a one-face
 *    640x480 photo and the five-face demo photo, and the same in process
 *    (analyseImage, no HTTP);
 *  - the same photos through @vladmandic/human's own detect-and-emotion
 *    pipeline in the same process (human-peer.ts), and the p50 ratio
 *    ours / theirs.
 * Photos are the demo images of @vladmandic/face-api (read from node_modules).
 * Models come from models/ or, without one, the untrained stand-in of
 * bench-models.ts (the weights do not change the time; a note says so).
 *
 * Options (--set key=value): iterations (timed runs per figure after one
 * warm-up; 30, --quick 5; detection alone half that, at least 5),
 * models (models/), skip_peer=1 (leave @vladmandic/human out), quality_only=1
 * (faces found, extra boxes and label agreement only: no timings),
 * detectors=ssd (only these detectors), labels=0 (stop after the detection
 * figures: no label agreement, no end-to-end timings).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../inference/decode.js';
import { DETECTORS, getFaceDetector, type DetectorName } from '../../inference/detect/index.js';
import { findFaces } from '../../inference/faces.js';
import { analyseImage } from '../../inference/pipeline.js';
import { disposeRegistry, type LoadedModel } from '../../inference/registry.js';
import { createApp } from '../../server/app.js';
import { listen } from '../../server/http/listen.js';
import { initBackend, tf } from '../../tf/backend.js';
import { demoPhotosDir, oneFacePhoto } from '../bench-images.js';
import { demoCases, FACE_SETS, matchFaces, scoreSet, type DemoCase, type FaceSet, type SetScore } from '../demo-faces.js';
import { benchModels } from '../bench-models.js';
import { timeLatency, type BenchContext, type BenchSection, type Figure, type Latency, type SectionResult } from '../framework.js';
import { loadHumanPeer } from '../human-peer.js';

const DECODE = { maxPixels: 50_000_000 };

/** The photos the figures use. */
async function photos(demo: string) {
  const read = (id: string) => fs.readFileSync(path.join(demo, `${id}.jpg`));
  const cover = (b: Buffer, w: number, h: number) => sharp(b).resize(w, h, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  return {
    detect: [
      ['640x480', await cover(read('sample1'), 640, 480)],
      ['1920x1080', await cover(read('sample1'), 1920, 1080)],
    ] as const,
    oneFace: await oneFacePhoto(read('sample3')),
    fiveFaces: read('sample5'),
    sets: Object.fromEntries(await Promise.all(FACE_SETS.map(async (set) => [set, await demoCases(set, demo)] as const))) as Record<
      FaceSet,
      DemoCase[]
    >,
  };
}

/** A p50 and a p99 figure of one timed case. */
function pair(id: string, label: string, s: Latency, note?: string): Figure[] {
  return [
    { id: `${id}_p50_ms`, label: `${label}, p50`, value: s.p50, unit: 'ms', ...(note ? { note } : {}) },
    { id: `${id}_p99_ms`, label: `${label}, p99`, value: s.p99, unit: 'ms' },
  ];
}

const SET_LABEL: Record<FaceSet, string> = {
  full: 'the 6 demo photos',
  tight: 'each face cut out tightly',
  margin: 'each face with a 30% margin',
};

function setFigures(id: string, label: string, s: SetScore): Figure[] {
  return [
    {
      id: `${id}_found`,
      label: `${label}: faces found`,
      value: s.found,
      unit: `of ${s.expected}`,
      ...(s.misses.length ? { note: s.misses.join('; ') } : {}),
    },
    { id: `${id}_extra`, label: `${label}: extra boxes`, value: s.extra, unit: 'boxes' },
  ];
}

/**
 * How often each face gets the same label from a crop as from the full
 * photo, per model (default detector): the share of faces found in both.
 */
async function labelAgreement(
  entry: LoadedModel,
  sets: Record<FaceSet, DemoCase[]>,
): Promise<Record<'tight' | 'margin', { agree: number; of: number }>> {
  const labels = async (cases: DemoCase[]) => {
    const out = new Map<string, string>();
    for (const c of cases) {
      const a = await analyseImage(c.bytes, entry, { ...DECODE });
      const m = matchFaces(
        c.faces,
        a.faces.map((f) => f.box),
      );
      m.matched.forEach((j, i) => {
        if (j >= 0) out.set(`${c.photo}#${c.faceIndex[i]}`, a.faces[j].label);
      });
    }
    return out;
  };
  const full = await labels(sets.full);
  const result = {} as Record<'tight' | 'margin', { agree: number; of: number }>;
  for (const set of ['tight', 'margin'] as const) {
    const crop = await labels(sets[set]);
    const keys = [...full.keys()].filter((k) => crop.has(k));
    result[set] = { agree: keys.filter((k) => full.get(k) === crop.get(k)).length, of: keys.length };
  }
  return result;
}

const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;

const section: BenchSection = {
  name: 'faces',
  title: 'Face detection, end-to-end latency by face count, and @vladmandic/human as the peer',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const n = ctx.options.iterations != null ? Number(ctx.options.iterations) : ctx.quick ? 5 : 30;
    if (!Number.isInteger(n) || n < 1) throw new Error(`--set iterations expects a whole number >= 1, got "${ctx.options.iterations}"`);
    const detectReps = Math.max(5, Math.round(n / 2));
    const qualityOnly = ctx.options.quality_only === '1';
    const demo = demoPhotosDir();
    if (!demo) return { figures: [], notes: ['skipped: the @vladmandic/face-api demo photos are not installed'] };
    const backend = await initBackend();
    const p = await photos(demo);
    const figures: Figure[] = [];
    const notes: string[] = [`backend ${backend}; ${n} timed runs per figure (detection alone ${detectReps}), after one warm-up`];

    // Detection alone, on the decoded working copy (what findFaces sees).
    const detectors = ctx.options.detectors ? ctx.options.detectors.split(',') : [...DETECTORS];
    for (const name of detectors) {
      if (!DETECTORS.includes(name as DetectorName))
        throw new Error(`--set detectors expects some of ${DETECTORS.join(',')}, got "${name}"`);
    }
    for (const name of detectors as DetectorName[]) {
      const detector = await getFaceDetector(name);
      for (const [size, bytes] of qualityOnly
        ? []
        : [...p.detect, ['close-up 305x305', p.sets.tight.find((c) => c.name === 'sample3 face 2')!.bytes] as const]) {
        const image = await decodeImage(bytes, DECODE);
        const s = await timeLatency(() => findFaces(image, { detector: name }), detectReps);
        figures.push(...pair(`detect_${name}_${size}`, `detection ${name}, ${size}`, s));
        ctx.log(`[bench] faces: ${name} ${size} p50 ${s.p50} ms`);
      }
      // Faces found and extra boxes on the photos, on each face cut out
      // tightly, and with a 30% margin (demo-faces.ts).
      for (const set of FACE_SETS) {
        const score = await scoreSet(p.sets[set], async (c) =>
          (await findFaces(await decodeImage(c.bytes, DECODE), { detector: name })).map((r) => r.box),
        );
        figures.push(...setFigures(`detect_${name}_${set}`, `detection ${name}, ${SET_LABEL[set]}`, score));
      }
      notes.push(`${name}: ${detector.source}`);
    }
    for (const [size, bytes] of qualityOnly ? [] : p.detect) {
      figures.push({
        id: `decode_${size}_p50_ms`,
        label: `decode to the grey working copy, ${size}, p50`,
        value: (await timeLatency(() => decodeImage(bytes, DECODE), n)).p50,
        unit: 'ms',
      });
    }

    if (ctx.options.labels === '0') {
      notes.push('labels=0: detection figures only');
      return { figures, notes };
    }
    // End to end through the real server on loopback, then the same in process.
    const models = await benchModels(ctx.options.models ?? 'models', ctx.log);
    const entry = models.registry.get()!;
    notes.push(
      `model ${entry.id} (${entry.card.arch})${models.standIn ? ': an untrained stand-in, no model in models/ (same work, meaningless scores)' : ''}`,
    );
    for (const m of models.registry.models) {
      const agree = await labelAgreement(m, p.sets);
      for (const set of ['tight', 'margin'] as const) {
        figures.push({
          id: `label_agreement_${m.id}_${set}`,
          label: `same label on the full photo and ${SET_LABEL[set]}, ${m.id}`,
          value: agree[set].agree,
          unit: `of ${agree[set].of}`,
          ...(models.standIn ? { note: 'untrained stand-in: meaningless' } : {}),
        });
      }
    }
    if (qualityOnly) {
      disposeRegistry(models.registry);
      await models.cleanup();
      notes.push('quality_only=1: no timings');
      return { figures, notes };
    }
    const server = await listen(createApp({ registry: models.registry, log: () => {} }), 0, '127.0.0.1');
    const post = async (bytes: Buffer): Promise<number> => {
      const res = await fetch(`${server.url}/api/predict`, {
        method: 'POST',
        body: new Uint8Array(bytes),
        headers: { 'content-type': 'image/jpeg' },
      });
      const body = (await res.json()) as { faces?: unknown[]; error?: string };
      if (!res.ok) throw new Error(`POST /api/predict: ${res.status} ${body.error}`);
      return body.faces?.length ?? 0;
    };
    let ours: Record<'http' | 'inProcess', { one: Latency; five: Latency }>;
    try {
      const oneFound = await post(p.oneFace);
      const fiveFound = await post(p.fiveFaces);
      ours = {
        http: { one: await timeLatency(() => post(p.oneFace), n), five: await timeLatency(() => post(p.fiveFaces), n) },
        inProcess: {
          one: await timeLatency(() => analyseImage(p.oneFace, entry, { ...DECODE }), n),
          five: await timeLatency(() => analyseImage(p.fiveFaces, entry, { ...DECODE }), n),
        },
      };
      figures.push(
        ...pair('http_one_face', 'POST /api/predict, one face 640x480', ours.http.one, `${oneFound} face(s) found`),
        ...pair('http_five_faces', 'POST /api/predict, five faces (demo sample5)', ours.http.five, `${fiveFound} face(s) found`),
        ...pair('in_process_one_face', 'analyseImage in process, one face 640x480', ours.inProcess.one),
        ...pair('in_process_five_faces', 'analyseImage in process, five faces', ours.inProcess.five),
      );
    } finally {
      await server.close();
      disposeRegistry(models.registry);
      await models.cleanup();
    }

    // The peer, last: it loads three more graph models into the same engine.
    if (ctx.options.skip_peer === '1') {
      notes.push('@vladmandic/human left out (skip_peer=1)');
    } else {
      try {
        const human = await loadHumanPeer();
        const oneFound = (await human.analyse(p.oneFace)).length;
        const fiveFound = (await human.analyse(p.fiveFaces)).length;
        const one = await timeLatency(() => human.analyse(p.oneFace), n);
        const five = await timeLatency(() => human.analyse(p.fiveFaces), n);
        figures.push(
          ...pair('human_one_face', '@vladmandic/human in process, one face 640x480', one, `${oneFound} face(s) found`),
          ...pair('human_five_faces', '@vladmandic/human in process, five faces', five, `${fiveFound} face(s) found`),
          {
            id: 'ratio_http_one_face_p50',
            label: 'ratio ours / human, p50, ours over HTTP, one face',
            value: ratio(ours.http.one.p50, one.p50),
            unit: 'x',
          },
          {
            id: 'ratio_http_five_faces_p50',
            label: 'ratio ours / human, p50, ours over HTTP, five faces',
            value: ratio(ours.http.five.p50, five.p50),
            unit: 'x',
          },
          {
            id: 'ratio_in_process_one_face_p50',
            label: 'ratio ours / human, p50, both in process, one face',
            value: ratio(ours.inProcess.one.p50, one.p50),
            unit: 'x',
          },
          {
            id: 'ratio_in_process_five_faces_p50',
            label: 'ratio ours / human, p50, both in process, five faces',
            value: ratio(ours.inProcess.five.p50, five.p50),
            unit: 'x',
          },
        );
        notes.push(`peer: ${human.source}; in process, sharp decode + human.detect, no HTTP`);
      } catch (e) {
        notes.push(`@vladmandic/human could not run here: ${(e as Error).message}`);
      }
    }
    figures.push({ id: 'tensors_after', label: 'tf.memory().numTensors at the end', value: tf.memory().numTensors, unit: 'tensors' });
    return { figures, notes };
  },
};

export default section;
