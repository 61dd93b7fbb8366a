/**
 * Photo bytes -> one grey image, with every way an upload can be wrong turned
 * into an `ImageInputError` a person can read. sharp does the decoding
 * (JPEG, PNG, WebP, GIF first frame, AVIF, TIFF); EXIF orientation is applied
 * and alpha is flattened onto white before the image turns grey (a colour copy
 * is kept for face detection).
 */
import sharp, { type Metadata } from 'sharp';
import { KeyedError, type ErrorKey, type MessageParams } from '../messages/errors.js';
import { rgbToGrey } from './pixels.js';

export type ImageErrorCode = 'no_file' | 'empty' | 'not_image' | 'unsupported' | 'truncated' | 'too_many_pixels' | 'too_large';

/** HTTP status each code maps to; the server uses it, nothing else depends on it. */
export const IMAGE_ERROR_STATUS: Record<ImageErrorCode, number> = {
  no_file: 400,
  empty: 400,
  not_image: 415,
  unsupported: 415,
  truncated: 422,
  too_many_pixels: 422,
  too_large: 413,
};

/** A problem with the uploaded image itself (never a server fault). */
export class ImageInputError extends KeyedError {
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, key: ErrorKey, params?: MessageParams) {
    super(key, params);
    this.name = 'ImageInputError';
    this.code = code;
  }
  get status(): number {
    return IMAGE_ERROR_STATUS[this.code];
  }
}

/** sharp's names for the formats we accept (AVIF reports itself as 'heif'). */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff']);

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels: number;
  /**
   * Longest side of the working image. Faces are cropped from it and shrunk to
   * 48x48, so full resolution buys nothing and a 50 MP photo would cost 50 MB.
   */
  workingSize?: number;
}

export const DEFAULT_MAX_PIXELS = 50_000_000;
export const DEFAULT_WORKING_SIZE = 1024;

/**
 * Formats whose decoding costs far more than the rest, with their own lower
 * pixel limit (the smaller of this and `maxPixels` applies). JPEG and WebP
 * are decoded at reduced size (shrink-on-load) and PNG / TIFF line by line,
 * so a 49 MP picture costs them 0.1-0.5 s and under 50 MB; AVIF/HEIF has no
 * reduced decode and holds the whole picture several times over: about 19 MB
 * and 0.1 s per megapixel (a 49 MP AVIF: 4.7 s, 950 MB), and GIF about 5 MB
 * and 20 ms per megapixel. Measured with `npm run bench -- decode`; see
 * docs/security.md. 16 MP still takes every phone photo (12 MP is usual).
 */
export const FORMAT_MAX_PIXELS: Readonly<Record<string, number>> = {
  heif: 16_000_000,
  gif: 16_000_000,
};

/** The pixel limit for one format: the format's own, or the general one when lower. */
export function pixelLimit(format: string | undefined, maxPixels: number): number {
  const own = format ? FORMAT_MAX_PIXELS[format] : undefined;
  return own === undefined ? maxPixels : Math.min(own, maxPixels);
}

/** A decoded, upright photo: grey for the expression models, colour for the face detector. */
export interface GreyImage {
  /** Size of the upright original; boxes are reported in these pixels. */
  width: number;
  height: number;
  /** The working copy: `data` is row-major grey 0-255 of workWidth x workHeight. */
  data: Uint8Array;
  /** The same working copy in colour (RGB, 3 bytes a pixel): face detectors find more faces in colour. */
  rgb: Uint8Array;
  workWidth: number;
  workHeight: number;
  format: string;
}

function friendlyFormat(format: string | undefined): string {
  return format ? format.toUpperCase() : 'this kind of file';
}

/** Reads the header only: format and dimensions, cheap even for a bomb. */
async function readHeader(bytes: Uint8Array, maxPixels: number): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    const msg = (e as Error).message;
    if (/unsupported image format/i.test(msg)) {
      throw new ImageInputError('not_image', 'err.notImage');
    }
    throw new ImageInputError('truncated', 'err.damaged');
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new ImageInputError('unsupported', 'err.unsupported', { format: friendlyFormat(meta.format) });
  }
  if (meta.format === 'heif' && meta.compression && meta.compression !== 'av1') {
    // HEIC (iPhone) needs an HEVC decoder that sharp's prebuilt libvips does not ship.
    throw new ImageInputError('unsupported', 'err.heic');
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w <= 0 || h <= 0) {
    throw new ImageInputError('truncated', 'err.noSize');
  }
  const limit = pixelLimit(meta.format, maxPixels);
  if (w * h > limit) {
    throw new ImageInputError('too_many_pixels', 'err.tooManyPixelsSized', { w, h, mp: Math.round(limit / 1e6) });
  }
  return meta;
}

/**
 * Decodes an uploaded file into an upright grey working image.
 * Throws `ImageInputError` for anything wrong with the file.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<GreyImage> {
  if (bytes.length === 0) throw new ImageInputError('empty', 'err.empty');
  const meta = await readHeader(bytes, options.maxPixels);
  const maxPixels = pixelLimit(meta.format, options.maxPixels);
  const workingSize = options.workingSize ?? DEFAULT_WORKING_SIZE;
  // Upright size: EXIF orientations 5-8 swap width and height.
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  try {
    const { data, info } = await sharp(bytes, {
      limitInputPixels: maxPixels, // second line of defence after the header check
      failOn: 'truncated', // a cut-off upload is an error, not a half-grey picture
      page: 0,
      pages: 1, // first frame of a GIF / first page of a TIFF
    })
      .rotate() // apply EXIF orientation
      .resize(workingSize, workingSize, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' }) // transparent pixels become white, not black
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    const rgb = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return {
      width,
      height,
      data: rgbToGrey(rgb),
      rgb,
      workWidth: info.width,
      workHeight: info.height,
      format: meta.format ?? 'unknown',
    };
  } catch (e) {
    if (e instanceof ImageInputError) throw e;
    const msg = (e as Error).message;
    if (/pixel limit/i.test(msg)) {
      throw new ImageInputError('too_many_pixels', 'err.tooManyPixels', { mp: Math.round(maxPixels / 1e6) });
    }
    throw new ImageInputError('truncated', 'err.damaged');
  }
}
