/**
 * When the detector finds no face: say so plainly and offer to classify the
 * whole image as one face, which is also right for an already cropped face.
 * The offer re-sends the same photo with whole=1: an uploaded photo by
 * re-submitting the main form (its file is still chosen), an example photo
 * by a small form of its own that names the example.
 */
import type { Analysis } from '../../inference/pipeline.js';
import { uiLocals } from '../http/request-context.js';

/** What the page knows about the request beyond the analysis. */
export interface ResultContext {
  /** The example photo that was analysed, if it was one. */
  example?: string;
  /** The model id the request used. */
  model?: string;
  explain?: boolean;
  tta?: boolean;
}

export interface NoFaceView {
  message: string;
  /** Where the example's own form posts (the base path included). */
  action: string;
  /** Hidden fields of that form; null for an upload (the main form is re-submitted instead). */
  exampleFields: Array<{ name: string; value: string }> | null;
}

export const NO_FACE_MESSAGE = 'No face was found in this photo.';

export function noFaceView(_a: Analysis, context: ResultContext): NoFaceView {
  const fields: Array<{ name: string; value: string }> = [];
  if (context.example) {
    fields.push({ name: 'example', value: context.example });
    if (context.model) fields.push({ name: 'model', value: context.model });
    if (context.explain) fields.push({ name: 'explain', value: '1' });
    if (context.tta) fields.push({ name: 'tta', value: '1' });
    fields.push({ name: 'whole', value: '1' });
  }
  return {
    message: uiLocals().t('noface.message'),
    action: `${uiLocals().base}/predict`,
    exampleFields: context.example ? fields : null,
  };
}
