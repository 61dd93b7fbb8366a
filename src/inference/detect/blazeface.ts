/**
 * BlazeFace (MediaPipe's short-range face detector, the 256x256 "back camera"
 * variant) with the weights that ship inside `@vladmandic/human`
 * (models/blazeface.json + .bin, 540 KB), run as a graph model on our TF.js.
 * Nothing is downloaded: the files are read from node_modules. Running and
 * decoding the model is blazeface-decode.ts (shared with private mode); here
 * are the loading and the server's letterbox.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../tf/backend.js';
import { readModelArtifacts } from '../../artifacts/model-folder.js';
import { BLAZEFACE_INPUT, blazeFaceDetector, type Letterboxed } from './blazeface-decode.js';
import { packageDir, packageVersion } from './package-dir.js';
import type { FaceDetector, Pixels } from './types.js';

export const BLAZEFACE_PACKAGE = '@vladmandic/human';

/**
 * Letterbox with sharp: shrink to fit 256x256 and pad right/bottom. sharp
 * shrinks with area averaging, which keeps small faces sharper than a
 * bilinear resize would, and the tensor that reaches TF.js is only 256x256.
 */
async function sharpLetterbox(image: Pixels): Promise<Letterboxed> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(BLAZEFACE_INPUT, BLAZEFACE_INPUT, { fit: 'contain', position: 'left top', background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    channels: info.channels === 1 ? 1 : 3,
    scale: Math.max(image.width, image.height) / BLAZEFACE_INPUT,
  };
}

export async function loadBlazeFace(): Promise<FaceDetector> {
  const dir = packageDir(BLAZEFACE_PACKAGE);
  if (!dir) throw new Error(`${BLAZEFACE_PACKAGE} is not installed; it carries the BlazeFace weights (npm install)`);
  const file = path.join(dir, 'models', 'blazeface.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing from the installed ${BLAZEFACE_PACKAGE}`);
  const model = await tf.loadGraphModel(tf.io.fromMemory(await readModelArtifacts(file)));
  return blazeFaceDetector(model, sharpLetterbox, `${BLAZEFACE_PACKAGE}@${packageVersion(dir)} models/blazeface.json`);
}
