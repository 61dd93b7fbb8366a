/**
 * The whole photo -> scores path, with its seams visible (like a Gradio
 * component: preprocess -> function -> postprocess):
 *   decode -> findFaces -> cropFaces -> predictFaces [-> gradCam] -> per-face results.
 * The server and the `predict` CLI both call `analyseImage`.
 */
import { LABELS, type Label } from '../types.js';
import { decodeImage, type DecodeOptions } from './decode.js';
import { getFaceDetector } from './detect/index.js';
import { cropFaces, findFaces, type Box, type FaceRegion, type FindOptions } from './faces.js';
import { gradCam } from './gradcam.js';
import { predictFaces, toScores, topLabel, type Scores } from './predict.js';
import type { LoadedModel } from './registry.js';

/** Everything a request can ask for. */
export interface AnalyseOptions extends DecodeOptions, Omit<FindOptions, 'log'> {
  /** Also compute a Grad-CAM map per face for its predicted class (costs a backward pass). */
  explain?: boolean;
  /** Test-time augmentation asked for (tta.ts ttaOf): true the card's views or flip, false none; default: the card's. */
  tta?: boolean;
  log?: (msg: string) => void;
}

export interface FaceResult {
  box: Box;
  /** Where exactly the face was cut out (rotation included). */
  region: FaceRegion;
  label: Label;
  scores: Scores;
  /** The 48x48 grey face the model saw (for the page's "what the model sees"). */
  face: Uint8Array;
  /** Grad-CAM map for `label`, 48x48 values in 0-1, when `explain` was asked for. */
  heatmap?: Float32Array;
}

export interface Analysis {
  model: string;
  image: { width: number; height: number; format: string };
  faces: FaceResult[];
  /** True when the detector found no face (the page then offers the whole-image choice). */
  noFace: boolean;
  /** How the faces were found: the detector's name, or 'whole-image'. */
  faceSource: string;
  /** Wall time of decode + faces + prediction (+ explanation), in milliseconds. */
  ms: number;
  /** The same, step by step. */
  timings: { decode: number; faces: number; classify: number; explain: number };
  /** The decoded working copy in colour (for drawing the boxes on the photo). */
  working: { rgb: Uint8Array; width: number; height: number };
}

const round1 = (v: number) => Math.round(v * 10) / 10;

export async function analyseImage(bytes: Uint8Array, entry: LoadedModel, options: AnalyseOptions): Promise<Analysis> {
  const t0 = performance.now();
  const image = await decodeImage(bytes, options);
  const t1 = performance.now();
  const regions = await findFaces(image, options);
  const faces = await cropFaces(image, regions);
  const t2 = performance.now();
  const rows = predictFaces(entry, faces, { tta: options.tta });
  const t3 = performance.now();
  const labels = rows.map(topLabel);
  const maps = options.explain
    ? gradCam(
        entry,
        faces,
        labels.map((l) => LABELS.indexOf(l)),
      )
    : null;
  const t4 = performance.now();
  const px = faces.length / Math.max(1, regions.length);
  return {
    model: entry.id,
    image: { width: image.width, height: image.height, format: image.format },
    faces: rows.map((row, i) => ({
      box: regions[i].box,
      region: regions[i],
      label: labels[i],
      scores: toScores(row),
      face: faces.subarray(i * px, (i + 1) * px),
      ...(maps ? { heatmap: maps.subarray(i * px, (i + 1) * px) } : {}),
    })),
    noFace: regions.length === 0,
    faceSource: options.whole ? 'whole-image' : (await getFaceDetector(options.detector, options.log)).name,
    ms: round1(t4 - t0),
    timings: { decode: round1(t1 - t0), faces: round1(t2 - t1), classify: round1(t3 - t2), explain: round1(t4 - t3) },
    working: { rgb: image.rgb, width: image.workWidth, height: image.workHeight },
  };
}
