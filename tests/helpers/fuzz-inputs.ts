/**
 * Seeded hostile uploads for the fuzz test: what each request sends and what
 * the server may answer. `ok` inputs are valid photos (must be 200), `client`
 * inputs are wrong in a way the server can tell (must be 4xx), and `any`
 * inputs are mutations that may or may not still decode (must not be 5xx).
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { mulberry32, type Rng } from '../../src/training/random.js';
import { facePng, greyIhdr, PNG_SIG, pngBomb, pngChunk } from './images.js';

export type Expect = 'ok' | 'client' | 'any';

export interface FuzzCase {
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  expect: Expect;
}

export interface BaseImages {
  /** A 64x64 face in each format sharp writes. */
  byFormat: Record<'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif', Buffer>;
  onePixel: Buffer[];
}

const CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'application/octet-stream',
  'text/plain',
  'application/json',
  'image/svg+xml',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'application/x-www-form-urlencoded',
  'text/html; charset=utf-8',
  'image/gif; charset=binary',
  '',
  'multipart/mixed; boundary=x',
  'video/mp4',
  ';;;',
  'image/*',
];

export async function baseImages(): Promise<BaseImages> {
  // The same drawn face as facePng, flattened to RGB once and written in every format.
  const raw = await sharp(await facePng(64))
    .flatten({ background: '#404040' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const img = () => sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } });
  const px = () => sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } });
  return {
    byFormat: {
      jpeg: await img().jpeg({ quality: 80 }).toBuffer(),
      png: await img().png().toBuffer(),
      webp: await img().webp().toBuffer(),
      gif: await img().gif().toBuffer(),
      tiff: await img().tiff().toBuffer(),
      avif: await img().avif({ effort: 0 }).toBuffer(),
    },
    onePixel: [await px().png().toBuffer(), await px().jpeg().toBuffer(), await px().webp().toBuffer(), await px().gif().toBuffer()],
  };
}

// ---- PNG chunks: pngChunk, PNG_SIG and greyIhdr from images.ts ----------

/** A real deflate bomb: side x side grey zeros, a few hundred kB on the wire. */
export function realPngBomb(side: number): Buffer {
  const raw = Buffer.alloc((side + 1) * side); // filter byte 0 + zeros, every row
  return Buffer.concat([
    PNG_SIG,
    greyIhdr(side, side),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 1x1 PNG carrying a zTXt chunk that inflates to `mb` megabytes. */
export function ztxtBomb(mb: number): Buffer {
  const text = Buffer.concat([Buffer.from('Comment\0\0', 'latin1'), deflateSync(Buffer.alloc(mb * 1024 * 1024, 0x41), { level: 9 })]);
  const pixel = deflateSync(Buffer.from([0, 0x80]));
  return Buffer.concat([PNG_SIG, greyIhdr(1, 1), pngChunk('zTXt', text), pngChunk('IDAT', pixel), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG whose frame header claims width x height (the scan data stays small). */
export function jpegWithSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; i++) {
    // SOF0..SOF3 markers: FF C0..C3, length(2), precision(1), height(2), width(2)
    if (out[i] === 0xff && out[i + 1] >= 0xc0 && out[i + 1] <= 0xc3) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
  }
  return out;
}

// ---- multipart -------------------------------------------------------------

export interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Uint8Array | string;
}

export function multipart(parts: Part[], boundary = '----ekspresiFuzz7MA4YWxkTrZu0gW'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

// ---- the generator ---------------------------------------------------------

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

function bitFlip(rng: Rng, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const flips = int(rng, 1, 24);
  for (let i = 0; i < flips; i++) {
    // Headers are where parsers go wrong: half of the flips land in the first 64 bytes.
    const at = rng() < 0.5 ? int(rng, 0, Math.min(63, b.length - 1)) : int(rng, 0, b.length - 1);
    b[at] ^= 1 << int(rng, 0, 7);
  }
  return b;
}

/**
 * A long file name. Browsers percent-encode `"` and line breaks in it; a raw
 * one breaks the part's header, so the form may fairly be refused (4xx).
 */
function longName(rng: Rng): { name: string; wellFormed: boolean } {
  const n = pick(rng, [300, 5_000, 100_000]);
  const alphabet = pick(rng, ['a', 'é', '😀', '../', '%00', '%22', '\\', '\u202e', '"', ';\r\nX-Injected: 1']);
  return { name: `${alphabet.repeat(Math.ceil(n / alphabet.length)).slice(0, n)}.png`, wellFormed: !/["\r\n]/.test(alphabet) };
}

/** Query strings: usually a valid choice, sometimes garbage (which must be a 4xx, not a 5xx). */
function query(rng: Rng, whole: boolean): { q: string; bad: boolean } {
  const r = rng();
  if (r < 0.85) return { q: whole ? '?whole=1' : '', bad: false };
  return {
    q: pick(rng, [
      '?model=nope',
      '?model=../../etc/passwd',
      `?model=${'x'.repeat(4000)}`,
      '?whole=maybe',
      '?max_faces=-1',
      '?max_faces=1e309',
      '?max_faces=abc',
      '?explain=2',
      '?tta=%00',
    ]),
    bad: true,
  };
}

/**
 * The n-th case of a seeded stream. `images` are the valid starting points;
 * `bombs` the expensive-to-make bad ones, built once.
 */
export function fuzzCases(
  seed: number,
  count: number,
  images: BaseImages,
  bombs: Record<string, Buffer>,
  maxUploadBytes: number,
): FuzzCase[] {
  const rng = mulberry32(seed);
  const formats = Object.keys(images.byFormat) as Array<keyof BaseImages['byFormat']>;
  const cases: FuzzCase[] = [];
  const raw = (kind: string, body: Uint8Array, contentType: string, expect: Expect, whole = rng() < 0.7): FuzzCase => {
    const { q, bad } = query(rng, whole);
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    return { kind, path: `/api/predict${q}`, headers, body, expect: bad ? (expect === 'ok' ? 'client' : expect) : expect };
  };
  const form = (kind: string, parts: Part[], expect: Expect, whole = rng() < 0.7): FuzzCase => {
    const { body, contentType } = multipart(parts);
    // The page's form route (HTML answers) gets a share of the forms.
    const page = rng() < 0.25;
    // The page takes the model from its form, so only the API gets garbage queries.
    const { q, bad } = page ? { q: whole ? '?whole=1' : '', bad: false } : query(rng, whole);
    const headers: Record<string, string> = { 'content-type': contentType, ...(page && rng() < 0.5 ? { 'hx-request': 'true' } : {}) };
    return {
      kind,
      path: `${page ? '/predict' : '/api/predict'}${q}`,
      headers,
      body,
      expect: bad ? (expect === 'ok' ? 'client' : expect) : expect,
    };
  };
  const valid = () => images.byFormat[pick(rng, formats)];

  for (let i = 0; i < count; i++) {
    const r = rng();
    if (r < 0.14) {
      cases.push(raw('random bytes', randomBytes(rng, int(rng, 1, 4096)), pick(rng, CONTENT_TYPES), 'any'));
    } else if (r < 0.3) {
      const f = pick(rng, formats);
      const src = images.byFormat[f];
      cases.push(raw(`truncated ${f}`, src.subarray(0, int(rng, 1, src.length - 1)), `image/${f}`, 'any'));
    } else if (r < 0.48) {
      const f = pick(rng, formats);
      cases.push(raw(`bit-flipped ${f}`, bitFlip(rng, images.byFormat[f]), `image/${f}`, 'any'));
    } else if (r < 0.56) {
      // A valid image with a wrong or missing content type: raw bodies are read as the image
      // whatever they claim, unless they claim to be a form (then: malformed form, or no file).
      const type = pick(rng, CONTENT_TYPES);
      const isForm = /^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type);
      cases.push(raw(`valid image as ${type || 'no type'}`, valid(), type, isForm ? 'client' : 'ok'));
    } else if (r < 0.6) {
      cases.push(
        rng() < 0.5
          ? raw('zero-size body', new Uint8Array(0), pick(rng, ['image/png', 'application/octet-stream', '']), 'client')
          : form('zero-size file', [{ name: 'image', filename: 'empty.png', type: 'image/png', data: new Uint8Array(0) }], 'client'),
      );
    } else if (r < 0.65) {
      cases.push(raw('1x1 image', pick(rng, images.onePixel), 'application/octet-stream', 'ok', true));
    } else if (r < 0.7) {
      const which = pick(rng, ['png20000', 'jpeg20000', 'png50000', 'bomb8000', 'ztxt'] as const);
      const body =
        which === 'png20000'
          ? bombs.png20000
          : which === 'jpeg20000'
            ? bombs.jpeg20000
            : which === 'png50000'
              ? bombs.png50000
              : which === 'bomb8000'
                ? bombs.bomb8000
                : bombs.ztxt;
      // zTXt: a 1x1 image with a huge comment; it may be read (200) or refused (4xx).
      cases.push(raw(`bomb ${which}`, body, 'image/png', which === 'ztxt' ? 'any' : 'client'));
    } else if (r < 0.73) {
      cases.push(raw('svg with external references', bombs.svg, pick(rng, ['image/svg+xml', 'application/octet-stream']), 'client'));
    } else if (r < 0.79) {
      const { name, wellFormed } = longName(rng);
      cases.push(
        form('very long file name', [{ name: 'image', filename: name, type: 'image/png', data: valid() }], wellFormed ? 'ok' : 'any'),
      );
    } else if (r < 0.83) {
      const fields: Part[] =
        rng() < 0.5
          ? []
          : [
              { name: 'model', data: 'nope' },
              { name: 'whole', data: '1' },
            ];
      if (rng() < 0.4) fields.push({ name: 'image', data: 'not a file, just text' });
      cases.push(
        form(
          'multipart with no file',
          fields.filter((f) => f.name !== 'model'),
          'client',
        ),
      );
    } else if (r < 0.88) {
      const n = pick(rng, [2, 10, 200]);
      const parts: Part[] = Array.from({ length: n }, (_, k) => ({
        name: rng() < 0.8 ? 'image' : `file${k}`,
        filename: `f${k}.png`,
        type: 'image/png',
        data: valid(),
      }));
      // The first `image` part is the photo; if none is named so, there is no file.
      cases.push(form(`multipart with ${n} files`, parts, parts.some((p) => p.name === 'image') ? 'ok' : 'client'));
    } else if (r < 0.9) {
      // Over the upload limit: 413 (or the connection closed on a body still arriving).
      const big = Buffer.alloc(maxUploadBytes + int(rng, 1, 64 * 1024)).fill(randomBytes(rng, 4096));
      cases.push(
        rng() < 0.5
          ? raw('over the size limit', big, 'image/jpeg', 'client')
          : form('over the size limit', [{ name: 'image', filename: 'big.jpg', type: 'image/jpeg', data: big }], 'client'),
      );
    } else if (r < 0.94) {
      const { body } = multipart([{ name: 'image', filename: 'a.png', type: 'image/png', data: valid() }]);
      const variant = int(rng, 0, 3);
      const broken =
        variant === 0
          ? body.subarray(0, int(rng, 1, body.length - 1)) // cut off
          : variant === 1
            ? Buffer.from(body.toString('latin1').replace(/--\r\n$/, ''), 'latin1') // no closing boundary
            : variant === 2
              ? bitFlip(rng, body)
              : randomBytes(rng, int(rng, 0, 600));
      const type = pick(rng, [
        'multipart/form-data; boundary=----ekspresiFuzz7MA4YWxkTrZu0gW',
        'multipart/form-data; boundary=other',
        'multipart/form-data',
      ]);
      cases.push(raw(`malformed multipart (${variant})`, broken, type, 'any'));
    } else {
      // Plain valid uploads in between: the server must keep answering them right.
      cases.push(
        rng() < 0.5
          ? raw('valid raw', valid(), 'application/octet-stream', 'ok')
          : form('valid form', [{ name: 'image', filename: 'photo.jpg', type: 'image/jpeg', data: valid() }], 'ok'),
      );
    }
  }
  return cases;
}

/** The bad inputs that cost something to build, made once. */
export async function bombInputs(canaryUrl: string, jpeg: Buffer): Promise<Record<string, Buffer>> {
  return {
    png20000: pngBomb(20_000),
    png50000: pngBomb(50_000),
    jpeg20000: jpegWithSize(jpeg, 20_000, 20_000),
    bomb8000: realPngBomb(8_000),
    ztxt: ztxtBomb(64),
    // External references of every kind a renderer might follow: the canary
    // URL is a local listener that must never be contacted.
    svg: Buffer.from(`<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY ext SYSTEM "${canaryUrl}/entity">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">
  <image href="${canaryUrl}/image.png" width="64" height="64"/>
  <image xlink:href="file:///etc/passwd" width="64" height="64"/>
  <use href="${canaryUrl}/sprite.svg#a"/>
  <style>@import url("${canaryUrl}/style.css");</style>
  <text>&xxe;&ext;</text>
</svg>`),
  };
}
