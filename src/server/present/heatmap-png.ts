/** A Grad-CAM map as a small transparent PNG (data: URL) to lay over a face. */
import sharp from 'sharp';
import { heatmapRgba } from '../../inference/gradcam.js';
import { FACE_SIZE } from '../../types.js';

export async function heatmapDataUrl(map: Float32Array): Promise<string> {
  const png = await sharp(heatmapRgba(map), { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 4 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
