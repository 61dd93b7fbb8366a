/**
 * Getting the photo out of a request: a multipart form field `image` (the
 * page and `curl -F`), or, for the JSON API, the raw request body
 * (`curl --data-binary @photo.jpg`).
 */
import type { Context } from 'hono';
import { ImageInputError } from '../../inference/decode.js';
import { HttpError } from './errors.js';

export interface Upload {
  /** The file's bytes; null when no file was sent. */
  bytes: Uint8Array | null;
  /** The other text fields of a form (model, example). */
  fields: Record<string, string>;
}

function isForm(contentType: string): boolean {
  return /^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(contentType);
}

async function readForm(c: Context): Promise<Upload> {
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody({ all: false });
  } catch {
    throw new HttpError(400, 'err.malformed');
  }
  const fields: Record<string, string> = {};
  let bytes: Uint8Array | null = null;
  for (const [name, value] of Object.entries(body)) {
    const v = Array.isArray(value) ? value[0] : value;
    if (name === 'image') {
      // A form with no file chosen still sends an empty part with an empty
      // file name: that is "no file", not "an empty file".
      if (typeof v !== 'string' && !(v.name === '' && v.size === 0)) bytes = new Uint8Array(await v.arrayBuffer());
    } else if (typeof v === 'string') {
      fields[name] = v;
    }
  }
  return { bytes, fields };
}

/** Reads the upload; `allowRaw` accepts a non-form body as the image itself. */
export async function readUpload(c: Context, allowRaw: boolean): Promise<Upload> {
  const type = c.req.header('content-type') ?? '';
  if (isForm(type)) return readForm(c);
  if (!allowRaw) throw new HttpError(415, 'err.useForm');
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  return { bytes: bytes.length > 0 ? bytes : null, fields: {} };
}

export function noFileError(api: boolean): ImageInputError {
  return new ImageInputError('no_file', api ? 'err.noImageApi' : 'err.noPhoto');
}
