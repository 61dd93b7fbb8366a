/**
 * The answer of POST /api/predict (DESIGN.md): one entry per face with its
 * box, label and scores. Additions: the upright image size, `face_source`
 * (the detector, or "whole-image"), a Grad-CAM `heatmap` per face with
 * `?explain=1`, and a `message` when no face was found.
 */
import type { Analysis } from '../../inference/pipeline.js';
import { heatmapDataUrl } from './heatmap-png.js';

export const NO_FACE_API_MESSAGE =
  'No face was found in this image. To classify the whole image as one face (right for an already cropped face), send it again with ?whole=1.';

export async function predictionJson(a: Analysis): Promise<Record<string, unknown>> {
  const faces = await Promise.all(
    a.faces.map(async (f) => ({
      box: f.box,
      label: f.label,
      scores: f.scores,
      ...(f.heatmap ? { heatmap: await heatmapDataUrl(f.heatmap) } : {}),
    })),
  );
  return {
    model: a.model,
    image: { width: a.image.width, height: a.image.height },
    faces,
    face_source: a.faceSource,
    ...(a.noFace ? { message: NO_FACE_API_MESSAGE } : {}),
    ms: a.ms,
  };
}
