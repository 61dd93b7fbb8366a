/**
 * THE preprocessing path. Training, evaluation and serving all turn a 48x48
 * grey face (0-255) into a model input with `facesToTensor`, so a face is
 * prepared exactly the same way everywhere.
 */
import { tf } from '../tf/backend.js';
import { FACE_SIZE } from '../types.js';
import type { InputSpec } from '../artifacts/card.js';

export const FACE_PIXELS = FACE_SIZE * FACE_SIZE;

/**
 * Turns `n` grey faces of 48x48 (values 0-255, row-major, concatenated) into
 * an [n, size, size, channels] float tensor as the model described by `spec`
 * expects. The caller owns the returned tensor.
 *
 * `sourceBlur` is how blurred the faces already are (Gaussian sigma): 0 for
 * photos and sharp data; the training faces of a model whose card has
 * `input.blur` are already that blurred. Faces are blurred by the remainder,
 * so every face reaches the model at the sharpness it was trained on.
 */
export function facesToTensor(faces: Float32Array | Uint8Array, spec: InputSpec, sourceBlur = 0): tf.Tensor4D {
  if (faces.length % FACE_PIXELS !== 0) {
    throw new Error(`faces buffer has ${faces.length} values, not a multiple of ${FACE_PIXELS}`);
  }
  const n = faces.length / FACE_PIXELS;
  // Gaussian blurs compose in quadrature: sigma_total^2 = sigma_source^2 + sigma_added^2.
  const extra = Math.sqrt(Math.max(0, (spec.blur ?? 0) ** 2 - sourceBlur ** 2));
  const data = extra >= 0.05 ? blurFaces(faces, extra) : faces instanceof Float32Array ? faces : Float32Array.from(faces);
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

/** Separable Gaussian blur of each 48x48 face (edges clamped). */
export function blurFaces(faces: Float32Array | Uint8Array, sigma: number): Float32Array {
  const out = new Float32Array(faces.length);
  if (sigma <= 0) {
    out.set(faces);
    return out;
  }
  const r = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    kernel[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + r];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const S = FACE_SIZE;
  const tmp = new Float32Array(FACE_PIXELS);
  const clamp = (v: number) => (v < 0 ? 0 : v > S - 1 ? S - 1 : v);
  for (let off = 0; off < faces.length; off += FACE_PIXELS) {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += kernel[i + r] * faces[off + y * S + clamp(x + i)];
        tmp[y * S + x] = a;
      }
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let a = 0;
        for (let i = -r; i <= r; i++) a += kernel[i + r] * tmp[clamp(y + i) * S + x];
        out[off + y * S + x] = a;
      }
    }
  }
  return out;
}
