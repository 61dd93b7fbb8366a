/**
 * face-api's SSD MobileNet v1 face detector with the weights in
 * `@vladmandic/face-api`'s model/ folder (5.6 MB). Kept as the alternative to
 * BlazeFace (`--detector ssd`) and for the detector comparison in the bench:
 * it is as accurate on the demo photos but several times slower, and gives no
 * eye positions, so faces are not roll-corrected.
 *
 * face-api's node-wasm build requires the plain `@tensorflow/tfjs` package,
 * i.e. the very TF.js instance and backend we use (its node build would
 * insist on tfjs-node).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { tf } from '../../tf/backend.js';
import { packageDir, packageVersion } from './package-dir.js';
import type { DetectOptions, Detection, FaceDetector, Pixels } from './types.js';

const require = createRequire(import.meta.url);
export const SSD_PACKAGE = '@vladmandic/face-api';
export const SSD_MIN_SCORE = 0.5;
/** The second look at a close-up: a border half the photo's longest side wide, and a lower bar (close-up.ts). */
export const SSD_CLOSE_UP_PAD = 0.5;
export const SSD_CLOSE_UP_MIN_SCORE = 0.3;

/** The part of face-api we use (its own typings want the DOM library). */
interface FaceApiDetection {
  score: number;
  box: { x: number; y: number; width: number; height: number };
}
interface FaceApi {
  nets: { ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void>; dispose(): void } };
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): Promise<FaceApiDetection[]>;
}

export async function loadSsd(): Promise<FaceDetector> {
  const dir = packageDir(SSD_PACKAGE);
  if (!dir) throw new Error(`${SSD_PACKAGE} is not installed; it carries the SSD MobileNet v1 weights (npm install)`);
  const faceapi = require(path.join(dir, 'dist', 'face-api.node-wasm.js')) as FaceApi;
  const net = faceapi.nets.ssdMobilenetv1;
  await net.loadFromDisk(path.join(dir, 'model'));
  return {
    name: 'ssd',
    margin: 1.1,
    // Measured on the demo faces cut out tightly: with a 20% border SSD still misses 7 of 22.
    closeUp: { pad: SSD_CLOSE_UP_PAD, minScore: SSD_CLOSE_UP_MIN_SCORE },
    source: `${SSD_PACKAGE}@${packageVersion(dir)} model/ssd_mobilenetv1_model`,
    async detect(image: Pixels, options: DetectOptions): Promise<Detection[]> {
      const rgb = tf.tidy(() => {
        const pixels = tf.tensor3d(image.data, [image.height, image.width, image.channels], 'int32');
        return image.channels === 3 ? pixels : (tf.tile(pixels, [1, 1, 3]) as tf.Tensor3D);
      });
      try {
        const found = await faceapi.detectAllFaces(
          rgb,
          new faceapi.SsdMobilenetv1Options({
            minConfidence: options.minScore ?? SSD_MIN_SCORE,
            maxResults: options.maxFaces,
          }),
        );
        return found
          .sort((a, b) => b.score - a.score)
          .slice(0, options.maxFaces)
          .map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height, score: d.score }));
      } finally {
        rgb.dispose();
      }
    },
    dispose() {
      net.dispose();
    },
  };
}
