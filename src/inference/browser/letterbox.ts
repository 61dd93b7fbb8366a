/**
 * Private mode's letterbox for BlazeFace: the picture shrunk to fit 256x256
 * (top-left, black padding) by area averaging, each output pixel the
 * coverage-weighted mean of the source pixels under it.
 *
 * The one step of the face pipeline that differs on purpose between the
 * browser and the server: the server letterboxes with sharp (native, not in a
 * browser), whose area-average resize this follows closely, not to the bit,
 * so boxes differ by a few per cent of the face size. Everything after the
 * letterbox (detect/blazeface-decode.ts) is the same code on both sides.
 */
import { BLAZEFACE_INPUT, type Letterboxed } from '../detect/blazeface-decode.js';
import type { Pixels } from '../detect/types.js';

/** A grey picture as RGB (the same value in all three), so one loop below serves both. */
function asRgb(image: Pixels): Uint8Array {
  if (image.channels === 3) return image.data;
  const rgb = new Uint8Array(image.data.length * 3);
  for (let i = 0; i < image.data.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = image.data[i];
  return rgb;
}

/** A line of RGB pixels in a packed buffer: pixel k of line j starts at (j * line + k * pixel) * 3. */
interface Strides {
  line: number;
  pixel: number;
}

/**
 * One axis of the area-average resize: each of `lines` lines of `n` pixels shrunk to `m`,
 * every output pixel the coverage-weighted mean of the source pixels under it.
 */
function shrinkAxis(
  src: ArrayLike<number>,
  from: Strides,
  n: number,
  dst: Float32Array,
  to: Strides,
  m: number,
  lines: number,
  round: boolean,
): void {
  const step = n / m;
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < m; o++) {
      const a = o * step;
      const b = a + step;
      let red = 0;
      let green = 0;
      let blue = 0;
      for (let k = Math.floor(a); k < Math.min(n, Math.ceil(b)); k++) {
        const w = Math.min(k + 1, b) - Math.max(k, a);
        const i = (line * from.line + k * from.pixel) * 3;
        red += src[i] * w;
        green += src[i + 1] * w;
        blue += src[i + 2] * w;
      }
      const d = (line * to.line + o * to.pixel) * 3;
      // sharp hands the server whole numbers: the last pass rounds the same way.
      dst[d] = round ? Math.round(red / step) : red / step;
      dst[d + 1] = round ? Math.round(green / step) : green / step;
      dst[d + 2] = round ? Math.round(blue / step) : blue / step;
    }
  }
}

export function areaLetterbox(image: Pixels, size = BLAZEFACE_INPUT): Letterboxed {
  const { width, height } = image;
  const rgb = asRgb(image);
  const scale = Math.max(width, height) / size;
  const outW = Math.min(size, Math.max(1, Math.round(width / scale)));
  const outH = Math.min(size, Math.max(1, Math.round(height / scale)));
  // Rows first (width -> outW), then columns (height -> outH) into the padded square.
  const narrowed = new Float32Array(outW * height * 3);
  shrinkAxis(rgb, { line: width, pixel: 1 }, width, narrowed, { line: outW, pixel: 1 }, outW, height, false);
  const out = new Float32Array(size * size * 3);
  shrinkAxis(narrowed, { line: 1, pixel: outW }, height, out, { line: 1, pixel: size }, outH, outW, true);
  return { data: out, channels: 3, scale };
}
