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

export function areaLetterbox(image: Pixels, size = BLAZEFACE_INPUT): Letterboxed {
  const { width, height } = image;
  const rgb = asRgb(image);
  const scale = Math.max(width, height) / size;
  const outW = Math.min(size, Math.max(1, Math.round(width / scale)));
  const outH = Math.min(size, Math.max(1, Math.round(height / scale)));
  const sx = width / outW;
  const sy = height / outH;
  // Horizontal pass: width -> outW, for every source row.
  const tmp = new Float32Array(outW * height * 3);
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * sx;
    const x1 = x0 + sx;
    for (let y = 0; y < height; y++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let x = Math.floor(x0); x < Math.min(width, Math.ceil(x1)); x++) {
        const w = Math.min(x + 1, x1) - Math.max(x, x0);
        const i = (y * width + x) * 3;
        r += rgb[i] * w;
        g += rgb[i + 1] * w;
        b += rgb[i + 2] * w;
      }
      const o = (y * outW + ox) * 3;
      tmp[o] = r / sx;
      tmp[o + 1] = g / sx;
      tmp[o + 2] = b / sx;
    }
  }
  // Vertical pass: height -> outH, into the padded square.
  const out = new Float32Array(size * size * 3);
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = Math.floor(y0); y < Math.min(height, Math.ceil(y1)); y++) {
        const w = Math.min(y + 1, y1) - Math.max(y, y0);
        const i = (y * outW + ox) * 3;
        r += tmp[i] * w;
        g += tmp[i + 1] * w;
        b += tmp[i + 2] * w;
      }
      const o = (oy * size + ox) * 3;
      // sharp hands the server whole numbers: round the same way.
      out[o] = Math.round(r / sy);
      out[o + 1] = Math.round(g / sy);
      out[o + 2] = Math.round(b / sy);
    }
  }
  return { data: out, channels: 3, scale };
}
