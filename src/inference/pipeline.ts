/**
 * The whole photo -> scores path, with its seams visible (like a Gradio
 * component: preprocess -> function -> postprocess):
 *   decode -> findFaces -> cropFaces -> predictFaces -> per-face results.
 * The server and the `predict` CLI both call `analyseImage`.
 */
import { decodeImage, type DecodeOptions } from './decode.js';
import { cropFaces, findFaces, type Box } from './faces.js';
import { predictFaces, toScores, topLabel, type Scores } from './predict.js';
import type { LoadedModel } from './registry.js';
import type { Label } from '../types.js';

export interface FaceResult {
  box: Box;
  label: Label;
  scores: Scores;
  /** The 48x48 grey face the model saw (for the page's "what the model sees"). */
  face: Uint8Array;
}

export interface Analysis {
  model: string;
  image: { width: number; height: number; format: string };
  faces: FaceResult[];
  /** Wall time of decode + faces + prediction, in milliseconds. */
  ms: number;
}

export async function analyseImage(bytes: Uint8Array, entry: LoadedModel, options: DecodeOptions): Promise<Analysis> {
  const t0 = performance.now();
  const image = await decodeImage(bytes, options);
  const boxes = findFaces(image);
  const faces = await cropFaces(image, boxes);
  const rows = predictFaces(entry, faces);
  const px = faces.length / Math.max(1, boxes.length);
  return {
    model: entry.id,
    image: { width: image.width, height: image.height, format: image.format },
    faces: rows.map((row, i) => ({
      box: boxes[i],
      label: topLabel(row),
      scores: toScores(row),
      face: faces.subarray(i * px, (i + 1) * px),
    })),
    ms: Math.round((performance.now() - t0) * 10) / 10,
  };
}
