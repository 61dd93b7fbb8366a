/**
 * What every face detector gives back, whichever library it comes from, so
 * the rest of the pipeline (align, crop, classify) does not care which one ran.
 */

export interface Point {
  x: number;
  y: number;
}

/** One face, in the pixels of the image the detector was given. */
export interface Detection {
  /** Axis-aligned box around the face as the detector drew it. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Detector confidence, 0-1. */
  score: number;
  /**
   * Eye centres when the detector finds them (BlazeFace does; face-api's
   * SSD does not). `rightEye` is the person's right eye, i.e. the one on the
   * left of the picture.
   */
  rightEye?: Point;
  leftEye?: Point;
}

/** Raw pixels, row-major, 0-255: grey (1 channel) or RGB (3). */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface DetectOptions {
  /** Most faces to return (highest scores first). */
  maxFaces: number;
  /** Lowest detector score kept. */
  minScore?: number;
}

export interface FaceDetector {
  /** Short name: what `--detector` and the bench call it. */
  readonly name: string;
  /** Where its weights come from (package and file), for logs and the README. */
  readonly source: string;
  /**
   * How much wider than this detector's box the face crop is: boxes differ
   * between detectors (BlazeFace's is tight around brows-to-chin, SSD's
   * includes the forehead), FER2013 faces include some forehead and chin.
   */
  readonly margin: number;
  /**
   * The second look at a close-up (close-up.ts): how much grey border, as a
   * fraction of the photo's longest side on every side, and the lowest score
   * kept there. Default: close-up.ts's PAD and the detector's own threshold.
   */
  readonly closeUp?: { pad: number; minScore?: number };
  detect(image: Pixels, options: DetectOptions): Promise<Detection[]>;
  dispose(): void;
}
