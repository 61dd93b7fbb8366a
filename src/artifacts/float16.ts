/**
 * float16 weights (half the size of float32): the writer re-encodes each
 * float32 tensor and marks it in the weights manifest; the TF.js loader
 * decodes it back to float32 when the model loads.
 */
import type { tf } from '../tf/backend.js';

export type Quantization = 'float16' | null;

/** Re-encodes float32 weights as float16 (the TF.js loader decodes them). */
export function quantizeFloat16(
  specs: tf.io.WeightsManifestEntry[],
  data: ArrayBuffer,
): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const parts: Uint8Array[] = [];
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  let off = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = size * 4;
    if (spec.dtype === 'float32') {
      const src = new Float32Array(data.slice(off, off + bytes));
      const half = new Uint16Array(size);
      for (let i = 0; i < size; i++) half[i] = toHalf(src[i]);
      parts.push(new Uint8Array(half.buffer));
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      parts.push(new Uint8Array(data.slice(off, off + bytes)));
      outSpecs.push(spec);
    }
    off += bytes;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return { specs: outSpecs, data: out.buffer };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** IEEE 754 float32 -> float16 bits, round to nearest even. */
function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}
