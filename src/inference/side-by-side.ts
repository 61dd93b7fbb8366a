/**
 * "Side by side": one photo, every loaded model. The photo goes through the
 * normal pipeline once (analyseImage with the first model: decode, find and
 * cut out the faces), then every other model scores the very same 48x48
 * faces, so the columns differ only by the model.
 */
import { analyseImage, type AnalyseOptions, type Analysis } from './pipeline.js';
import { predictFaces, toScores, topLabel, type Scores } from './predict.js';
import type { LoadedModel } from './registry.js';
import type { Label } from '../types.js';

/** What `?model=all` asks for. */
export const ALL_MODELS = 'all';

export interface ModelVerdict {
  model: string;
  label: Label;
  scores: Scores;
}

export interface SideBySide {
  /** Model ids in registry order (best first). */
  models: string[];
  image: Analysis['image'];
  faces: Array<{ box: Analysis['faces'][number]['box']; face: Uint8Array; byModel: ModelVerdict[] }>;
  ms: number;
  /** The first model's analysis: the photo, where each face was cut out, for the annotated photo. */
  analysis: Analysis;
}

export async function analyseWithEveryModel(bytes: Uint8Array, entries: LoadedModel[], options: AnalyseOptions): Promise<SideBySide> {
  if (entries.length === 0) throw new Error('no models loaded');
  const t0 = performance.now();
  // No explanation maps here: one backward pass per model per face is not worth it for a comparison.
  const first = await analyseImage(bytes, entries[0], { ...options, explain: false });
  const faces = new Uint8Array(first.faces.reduce((n, f) => n + f.face.length, 0));
  let offset = 0;
  for (const f of first.faces) {
    faces.set(f.face, offset);
    offset += f.face.length;
  }
  const others = entries.slice(1).map((e) => ({ id: e.id, rows: faces.length ? predictFaces(e, faces, { tta: options.tta }) : [] }));
  return {
    models: entries.map((e) => e.id),
    image: first.image,
    faces: first.faces.map((f, i) => ({
      box: f.box,
      face: f.face,
      byModel: [
        { model: entries[0].id, label: f.label, scores: f.scores },
        ...others.map((o) => ({ model: o.id, label: topLabel(o.rows[i]), scores: toScores(o.rows[i]) })),
      ],
    })),
    ms: Math.round((performance.now() - t0) * 10) / 10,
    analysis: first,
  };
}
