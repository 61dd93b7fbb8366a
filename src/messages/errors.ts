/**
 * The sentences a user is told when their request cannot be answered, in
 * English, by key. Errors carry the key and its parameters (`KeyedError`), so
 * the place that shows one (the server's error handler, a CLI) says it in its
 * reader's language: the server's i18n/id.ts translates every key here.
 */
export const ERROR_MESSAGES = {
  'err.noPhoto': 'No photo was chosen. Please choose a photo (or click an example) first.',
  'err.noImageApi': 'No image was sent. Post it as the multipart field "image" or as the raw request body.',
  'err.empty': 'The file is empty (0 bytes). Please choose a photo.',
  'err.notImage': 'This file is not an image we can read. Please upload a photo (JPEG, PNG, WebP, GIF, AVIF or TIFF).',
  'err.notPhotoFile': '"{name}" is not a photo. Please choose a JPEG, PNG, WebP, GIF, AVIF or TIFF image.',
  'err.damaged': 'This image looks damaged or incomplete (perhaps the upload was cut off). Please try another file.',
  'err.noSize': 'This image has no size in its header, so it is probably damaged.',
  'err.unsupported': '{format} files are not supported. Please upload a JPEG, PNG, WebP, GIF, AVIF or TIFF photo.',
  'err.heic':
    'HEIC photos are not supported. Please export the photo as JPEG (on an iPhone: Settings > Camera > Formats > Most Compatible).',
  'err.tooManyPixelsSized': 'This image is {w} x {h} pixels, more than the {mp} megapixels we accept. Please upload a smaller photo.',
  'err.tooManyPixels': 'This image has more than the {mp} megapixels we accept. Please upload a smaller photo.',
  'err.tooLarge': 'The file is too large: the limit is {mb} MB. Please choose a smaller photo.',
  'err.uploadTooLarge': 'The upload is too large.',
  'err.malformed': 'The upload could not be read: the form data is malformed. Please try again.',
  'err.useForm': 'Please send the photo with the upload form.',
  'err.noModels': 'No model is loaded yet, so photos cannot be analysed. Train one with "npm run train" and restart the server.',
  'err.unknownModel': 'There is no model called "{id}". Available: {list}.',
  'err.unknownExample': 'There is no example called "{id}".',
  'err.flag01': '"{name}" must be 1 or 0 (got "{value}").',
  'err.maxFaces': '"max_faces" must be a whole number of at least 1 (got "{value}").',
  'err.server': 'Something went wrong on our side while analysing the photo. Please try again.',
  'err.nothingHere': 'Nothing at this address.',
  'err.nothingAt': 'Nothing at {path}.',
} as const;

export type ErrorKey = keyof typeof ERROR_MESSAGES;
export type MessageParams = Record<string, string | number>;

/** A template with each {name} filled in from `params` (unknown names stay as they are). */
export function fillMessage(template: string, params?: MessageParams): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** An error meant for the user: its message is the English sentence; `key` and `params` let others translate it. */
export class KeyedError extends Error {
  readonly key: ErrorKey;
  readonly params: MessageParams;
  constructor(key: ErrorKey, params: MessageParams = {}) {
    super(fillMessage(ERROR_MESSAGES[key], params));
    this.name = 'KeyedError';
    this.key = key;
    this.params = params;
  }
}
