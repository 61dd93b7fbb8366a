/**
 * BlazeFace from a letterboxed 256x256 picture to detections: the model run,
 * the decoding of its raw output, thresholding, non-max suppression and the
 * mapping back to the caller's pixels. The server (blazeface.ts, letterbox by
 * sharp) and private mode's browser bundle (browser/letterbox.ts) both build
 * their detector here, so they differ only in how the picture is shrunk.
 *
 * The decoding follows human's src/face/blazeface.ts: 896 anchors on a 16x16
 * grid (2 per cell) and an 8x8 grid (6 per cell); each anchor predicts a
 * score logit, a box (centre offset + size, in input pixels) and six
 * keypoints (right eye, left eye, nose, mouth, right ear, left ear).
 */
import { tf } from '../../tf/backend.js';
import type { DetectOptions, Detection, FaceDetector, Pixels } from './types.js';

/** Side of the square picture the model takes. */
export const BLAZEFACE_INPUT = 256;
const VALUES_PER_ANCHOR = 17; // score, 4 box values, 6 keypoints x 2
/** Boxes overlapping more than this are the same face (non-max suppression). */
const IOU_THRESHOLD = 0.3;
/**
 * Chosen on the demo photos: their weakest real face scores 0.48, the
 * strongest non-face 0.28 (README, "Faces").
 */
export const BLAZEFACE_MIN_SCORE = 0.4;
/** How much wider than BlazeFace's tight brows-to-chin box the face crop is. */
export const BLAZEFACE_MARGIN = 1.25;

/**
 * A picture shrunk to fit BLAZEFACE_INPUT x BLAZEFACE_INPUT, top-left, padded
 * black right and bottom (so faces keep their shape): values 0-255, row-major.
 * `scale` = original pixels per letterbox pixel.
 */
export interface Letterboxed {
  data: Uint8Array | Float32Array;
  channels: 1 | 3;
  scale: number;
}

export type Letterbox = (image: Pixels) => Letterboxed | Promise<Letterboxed>;

/** Anchor centres in input pixels, in the order the model emits them. */
export function blazeFaceAnchors(size = BLAZEFACE_INPUT): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [stride, perCell] of [
    [size / 16, 2],
    [size / 8, 6],
  ]) {
    const cells = Math.ceil(size / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push([stride * (gx + 0.5), stride * (gy + 0.5)]);
      }
    }
  }
  return out;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * The model's raw output as one [896, 17] tensor. The converted model has four
 * outputs (scores and regressors for each anchor grid) in no fixed order;
 * their sizes tell them apart, as in human's decoder.
 */
function joinOutputs(out: tf.Tensor | tf.Tensor[]): tf.Tensor2D {
  if (!Array.isArray(out)) return tf.squeeze(out, [0]) as tf.Tensor2D;
  if (out.length === 1) return tf.squeeze(out[0], [0]) as tf.Tensor2D;
  const [scores384, scores512, boxes384, boxes512] = [...out].sort((a, b) => a.size - b.size);
  const grid16 = tf.concat([scores512, boxes512], 2);
  const grid8 = tf.concat([scores384, boxes384], 2);
  return tf.squeeze(tf.concat([grid16, grid8], 1), [0]) as tf.Tensor2D;
}

/** Runs the model on a letterboxed picture and decodes its answer into detections in the original pixels. */
async function detectLetterboxed(
  model: Pick<tf.GraphModel, 'execute'>,
  small: Letterboxed,
  options: DetectOptions,
  anchors: Array<[number, number]>,
): Promise<Detection[]> {
  const minScore = options.minScore ?? BLAZEFACE_MIN_SCORE;
  const { scale } = small;
  const raw = tf.tidy(() => {
    const data = small.data instanceof Float32Array ? small.data : Float32Array.from(small.data);
    const pixels = tf.tensor3d(data, [BLAZEFACE_INPUT, BLAZEFACE_INPUT, small.channels]);
    // The model wants RGB in [-1, 1]; a grey photo is the same value in all three.
    const rgb = small.channels === 3 ? pixels : tf.tile(pixels, [1, 1, 3]);
    const x = tf.expandDims(tf.sub(tf.div(rgb, 127.5), 1), 0);
    return joinOutputs(model.execute(x) as tf.Tensor | tf.Tensor[]);
  });
  const values = await raw.data();
  raw.dispose();

  // Threshold in JS first: NMS then only sees the few plausible boxes.
  const keep: number[] = [];
  for (let i = 0; i < anchors.length; i++) if (sigmoid(values[i * VALUES_PER_ANCHOR]) >= minScore) keep.push(i);
  if (keep.length === 0) return [];
  const boxes: number[] = [];
  const scores: number[] = [];
  for (const i of keep) {
    const o = i * VALUES_PER_ANCHOR;
    const cx = values[o + 1] + anchors[i][0];
    const cy = values[o + 2] + anchors[i][1];
    const w = values[o + 3];
    const h = values[o + 4];
    boxes.push(cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2);
    scores.push(sigmoid(values[o]));
  }
  const boxT = tf.tensor2d(boxes, [keep.length, 4]);
  const scoreT = tf.tensor1d(scores);
  const chosenT = await tf.image.nonMaxSuppressionAsync(boxT, scoreT, options.maxFaces, IOU_THRESHOLD, minScore);
  const chosen = Array.from(await chosenT.data());
  tf.dispose([boxT, scoreT, chosenT]);

  const point = (o: number, k: number, anchor: [number, number]) => ({
    x: (values[o + 5 + 2 * k] + anchor[0]) * scale,
    y: (values[o + 6 + 2 * k] + anchor[1]) * scale,
  });
  return chosen.map((j): Detection => {
    const i = keep[j];
    const [y1, x1, y2, x2] = boxes.slice(j * 4, j * 4 + 4);
    return {
      x: x1 * scale,
      y: y1 * scale,
      width: (x2 - x1) * scale,
      height: (y2 - y1) * scale,
      score: scores[j],
      rightEye: point(i * VALUES_PER_ANCHOR, 0, anchors[i]),
      leftEye: point(i * VALUES_PER_ANCHOR, 1, anchors[i]),
    };
  });
}

/** A loaded BlazeFace graph model as a FaceDetector, shrinking pictures with `letterbox`. */
export function blazeFaceDetector(model: tf.GraphModel, letterbox: Letterbox, source: string): FaceDetector {
  const anchors = blazeFaceAnchors();
  return {
    name: 'blazeface',
    margin: BLAZEFACE_MARGIN,
    source,
    async detect(image: Pixels, options: DetectOptions): Promise<Detection[]> {
      return detectLetterboxed(model, await letterbox(image), options, anchors);
    },
    dispose() {
      model.dispose();
    },
  };
}
