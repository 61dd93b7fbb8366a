/**
 * A video file for Chromium's fake camera (--use-file-for-fake-video-capture):
 * a still photo as a few Y4M frames (4:2:0, JPEG-range YCbCr), which Chromium
 * loops. Lets a browser test point "the camera" at real faces.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export async function photoY4m(photo: Buffer, width: number, height: number, frames = 2): Promise<string> {
  const { data } = await sharp(photo).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const y = Buffer.alloc(width * height);
  const cw = width / 2;
  const ch = height / 2;
  const u = Buffer.alloc(cw * ch);
  const v = Buffer.alloc(cw * ch);
  const clamp = (n: number) => Math.max(0, Math.min(255, Math.round(n)));
  for (let i = 0; i < width * height; i++) {
    y[i] = clamp(0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2]);
  }
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        const i = ((cy * 2 + dy) * width + cx * 2 + dx) * 3;
        r += data[i];
        g += data[i + 1];
        b += data[i + 2];
      }
      r /= 4;
      g /= 4;
      b /= 4;
      u[cy * cw + cx] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      v[cy * cw + cx] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  }
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F5:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, u, v]);
  const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-camera-')), 'faces.y4m');
  await fs.writeFile(file, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
  return file;
}
