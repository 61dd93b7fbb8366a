/**
 * Private mode's face pipeline: the entry of the browser bundle that
 * server/private-bundle.ts builds from the server's own modules and
 * routes/private.ts serves as GET /private/pipeline.js. A face is found,
 * cut out, prepared and scored by the very code the server runs (pixels.ts,
 * detect/blazeface-decode.ts and overlap.ts, align.ts, preprocess.ts,
 * predict.ts, ready-network.ts and fused-model.ts). What differs, on purpose:
 * the detector's letterbox (./letterbox.ts says why) and no second look at
 * close-ups (faceDetector says why). TF.js is the page's (tf/page-tf.ts);
 * static/private/runtime.js loads the files and calls this.
 */
import type { tf } from '../../tf/backend.js';
import type { ModelCard } from '../../artifacts/card.js';
import type { Label } from '../../types.js';
import { regionsFromDetections, sampleFaces, type Box } from '../align.js';
import { blazeFaceDetector } from '../detect/blazeface-decode.js';
import { suppressContained } from '../detect/overlap.js';
import type { FaceDetector } from '../detect/types.js';
import { rgbaToRgb, rgbToGrey } from '../pixels.js';
import {
  predictFaces,
  toScores,
  topLabel,
  type Predictable,
  type PredictableEnsemble,
  type PredictableNetwork,
  type Scores,
} from '../predict.js';
import { readyNetwork } from '../ready-network.js';
import { areaLetterbox } from './letterbox.js';

export { compileChecked } from '../fused-model.js';
export { predictFaces, rgbaToRgb };

/** A network as GET /private/manifest.json lists it: `card` holds the card fields a prediction reads. */
export interface ManifestNetwork {
  id: string;
  card: Pick<ModelCard, 'input' | 'tta' | 'calibration'>;
}

export interface BrowserNetwork extends PredictableNetwork {
  id: string;
  model: tf.LayersModel;
  /** Whether it runs compiled (fused-model.ts) rather than through model.predict. */
  compiled: boolean;
}

export interface BrowserEnsemble extends PredictableEnsemble {
  id: string;
  members: BrowserNetwork[];
}

/** A loaded layers model made ready as the server's registry makes it (compiled where it can be, warmed up). */
export function browserNetwork(info: ManifestNetwork, model: tf.LayersModel): BrowserNetwork {
  const ready = readyNetwork(model, info.card.input);
  return {
    kind: 'network',
    id: info.id,
    card: info.card,
    model,
    run: ready.run,
    compiled: ready.compiled !== null,
    outputsProbabilities: ready.outputsProbabilities,
  };
}

/** An ensemble: its members' answers averaged, as the server serves one. */
export function browserEnsemble(id: string, members: BrowserNetwork[]): BrowserEnsemble {
  return { kind: 'ensemble', id, members };
}

/**
 * BlazeFace on the page's TF.js, one box per face as on the server (overlap.ts). Unlike the server
 * it takes no second look at close-ups (detect/close-up.ts): that is a second detector pass over
 * a larger picture on nearly every selfie frame, which would halve the live camera's frame rate.
 */
export function faceDetector(model: tf.GraphModel): FaceDetector {
  const detector = blazeFaceDetector(model, areaLetterbox, 'blazeface (private mode)');
  return { ...detector, detect: async (image, options) => suppressContained(await detector.detect(image, options), options.maxFaces) };
}

/** One face as POST /api/predict answers it. */
export interface FaceAnswer {
  box: Box;
  label: Label;
  scores: Scores;
}

/**
 * An RGB picture (already the working size, as the server's working copy) ->
 * its faces left to right with box, label and scores, like POST /api/predict.
 */
export async function analysePixels(
  detector: FaceDetector,
  entry: Predictable,
  rgb: Uint8Array,
  width: number,
  height: number,
  maxFaces: number,
): Promise<FaceAnswer[]> {
  const photo = { width, height };
  const found = await detector.detect({ data: rgb, width, height, channels: 3 }, { maxFaces: Math.max(1, maxFaces) });
  const regions = regionsFromDetections(found, 1, photo, detector.margin);
  const faces = sampleFaces({ data: rgbToGrey(rgb), width, height }, regions, 1);
  return predictFaces(entry, faces).map((row, i) => ({ box: regions[i].box, label: topLabel(row), scores: toScores(row) }));
}
