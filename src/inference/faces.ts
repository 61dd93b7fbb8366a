/**
 * Where the faces are, and cutting them out as 48x48 grey squares.
 *
 * `findFaces` runs the face detector (BlazeFace by default, see detect/) on
 * the colour working copy and turns each detection into a square, roll-
 * corrected region (align.ts); with `whole` it skips detection and takes the
 * photo's centred square as the one face, which is right for an already
 * cropped face such as a FER2013 image. `cropFaces` samples the regions into
 * the 48x48 grey faces `facesToTensor` expects.
 */
import { regionsFromDetections, sampleFaces, wholeImageRegion, type FaceRegion } from './align.js';
import type { GreyImage } from './decode.js';
import { getFaceDetector, type DetectorName } from './detect/index.js';

export type { Box, FaceRegion } from './align.js';

export const DEFAULT_MAX_FACES = 20;

export interface FindOptions {
  /** Skip detection: the photo's centred square is the face. */
  whole?: boolean;
  /** Most faces to return (default 20); the most confident are kept. */
  maxFaces?: number;
  detector?: DetectorName;
  /** Crop margin around the detector's box (default: the detector's own). */
  margin?: number;
  log?: (msg: string) => void;
}

/**
 * The faces in `image`, left to right, in the original photo's pixels.
 * Empty when no face was found.
 */
export async function findFaces(image: GreyImage, options: FindOptions = {}): Promise<FaceRegion[]> {
  if (options.whole) return [wholeImageRegion(image)];
  const detector = await getFaceDetector(options.detector, options.log);
  const found = await detector.detect(
    { data: image.rgb, width: image.workWidth, height: image.workHeight, channels: 3 },
    { maxFaces: Math.max(1, options.maxFaces ?? DEFAULT_MAX_FACES) },
  );
  return regionsFromDetections(found, image.width / image.workWidth, image, options.margin ?? detector.margin);
}

/**
 * Samples each region to 48x48 grey: the input `facesToTensor` expects
 * (faces concatenated, row-major, 0-255).
 */
export async function cropFaces(image: GreyImage, regions: FaceRegion[]): Promise<Uint8Array> {
  return sampleFaces({ data: image.data, width: image.workWidth, height: image.workHeight }, regions, image.width / image.workWidth);
}
