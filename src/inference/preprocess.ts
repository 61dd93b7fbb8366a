/**
 * THE preprocessing path. Training, evaluation and serving all turn a 48x48
 * grey face (0-255) into a model input with `facesToTensor`, so a face is
 * prepared exactly the same way everywhere.
 */
import { tf } from '../tf/backend.js';
import { FACE_SIZE, type InputSpec } from '../types.js';

export const FACE_PIXELS = FACE_SIZE * FACE_SIZE;

/**
 * Turns `n` grey faces of 48x48 (values 0-255, row-major, concatenated) into
 * an [n, size, size, channels] float tensor as the model described by `spec`
 * expects. The caller owns the returned tensor.
 */
export function facesToTensor(faces: Float32Array | Uint8Array, spec: InputSpec): tf.Tensor4D {
  if (faces.length % FACE_PIXELS !== 0) {
    throw new Error(`faces buffer has ${faces.length} values, not a multiple of ${FACE_PIXELS}`);
  }
  const n = faces.length / FACE_PIXELS;
  const data = faces instanceof Float32Array ? faces : Float32Array.from(faces);
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(data, [n, FACE_SIZE, FACE_SIZE, 1]);
    x = spec.normalisation === 'symmetric' ? tf.sub(tf.div(x, 127.5), 1) : tf.div(x, 255);
    if (spec.size !== FACE_SIZE) x = tf.image.resizeBilinear(x, [spec.size, spec.size], false, true);
    if (spec.channels === 3) x = tf.tile(x, [1, 1, 1, 3]);
    return x;
  });
}

/** Mirrors faces left-right (same layout as facesToTensor's input): test-time augmentation. */
export function flipFaces(faces: Float32Array | Uint8Array): Float32Array {
  const out = new Float32Array(faces.length);
  for (let base = 0; base < faces.length; base += FACE_SIZE) {
    for (let x = 0; x < FACE_SIZE; x++) out[base + x] = faces[base + FACE_SIZE - 1 - x];
  }
  return out;
}
