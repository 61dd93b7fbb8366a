/** Real image files for tests, made with sharp (never FER2013 rows). */
import sharp from 'sharp';
import { deflateSync } from 'node:zlib';

/** A grey "face": a light oval with two dark eyes and a mouth on a darker background. */
export async function facePng(size = 96): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 96 96">
    <rect width="96" height="96" fill="#404040"/>
    <ellipse cx="48" cy="50" rx="30" ry="38" fill="#c8c8c8"/>
    <circle cx="36" cy="40" r="5" fill="#202020"/><circle cx="60" cy="40" r="5" fill="#202020"/>
    <path d="M32 66 Q48 80 64 66" stroke="#202020" stroke-width="4" fill="none"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export async function photoJpeg(width = 640, height = 480): Promise<Buffer> {
  const face = await facePng(Math.min(width, height));
  return sharp({ create: { width, height, channels: 3, background: '#6080a0' } })
    .composite([{ input: face, gravity: 'centre' }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A 60x40 JPEG stored sideways with EXIF orientation 6: upright it is 40x60. */
export async function exifRotatedJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 60, height: 40, channels: 3, background: '#888888' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export async function rgbaPng(): Promise<Buffer> {
  return sharp({ create: { width: 50, height: 50, channels: 4, background: { r: 200, g: 50, b: 50, alpha: 0.3 } } })
    .png()
    .toBuffer();
}

/** A bigger JPEG cut in half, like an upload that stopped early. */
export async function truncatedJpeg(): Promise<Buffer> {
  const noise = Buffer.alloc(200 * 200 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const full = await sharp(noise, { raw: { width: 200, height: 200, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  return full.subarray(0, Math.floor(full.length / 2));
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk (length, type, data, CRC): for hand-made PNGs that sharp would refuse to write. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The IHDR chunk of an 8-bit greyscale PNG of width x height. */
export function greyIhdr(width: number, height: number): Buffer {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h[8] = 8;
  h[9] = 0; // 8-bit greyscale
  return pngChunk('IHDR', h);
}

/**
 * A decompression bomb: a valid PNG header claiming 50000 x 50000 pixels
 * (2.5 gigapixels) in a file of a few hundred bytes.
 */
export function pngBomb(side = 50_000): Buffer {
  const row = Buffer.alloc(1 + side); // filter byte + one row of zeros
  return Buffer.concat([PNG_SIG, greyIhdr(side, side), pngChunk('IDAT', deflateSync(row)), pngChunk('IEND', Buffer.alloc(0))]);
}
