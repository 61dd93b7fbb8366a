/**
 * Makes tests/fixtures/faces-4s.mp4 and .webm, the video timeline's test
 * video, from two demo photos of @vladmandic/face-api (MIT licence): 4 s at
 * 10 frames a second, 640x360. Scene one (0-2.3 s) pans slowly across
 * sample3's three faces; at 2.3 s it cuts to a close-up of sample6's first
 * face that slowly zooms in (far larger than the earlier faces, so its box
 * overlaps none of theirs by more than about 0.2). So three faces stay in
 * view and move for a while, then one new face appears.
 *
 * Needs Debian's ffmpeg once (apt-get install ffmpeg); the tests only read
 * the committed files.  Run: node --import tsx tests/helpers/make-video-fixture.ts
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { demoPhoto } from './face-photos.js';

export const VIDEO = { width: 640, height: 360, fps: 10, frames: 40, cutFrame: 23 };
const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures');

interface Window {
  x: number;
  y: number;
  w: number;
}
const lerp = (a: Window, b: Window, k: number): Window => ({
  x: a.x + (b.x - a.x) * k,
  y: a.y + (b.y - a.y) * k,
  w: a.w + (b.w - a.w) * k,
});
/** Each scene: its photo and the window of it shown at the scene's first and last frame (16:9). */
const SCENES = [
  { photo: 'sample3', from: { x: 260, y: 200, w: 1440 }, to: { x: 440, y: 150, w: 1440 } },
  { photo: 'sample6', from: { x: 20, y: 470, w: 600 }, to: { x: 50, y: 490, w: 540 } },
];

async function frames(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const photos = await Promise.all(SCENES.map((s) => sharp(demoPhoto(s.photo)).removeAlpha().toBuffer()));
  for (let i = 0; i < VIDEO.frames; i++) {
    const scene = i < VIDEO.cutFrame ? 0 : 1;
    const [first, last] = scene === 0 ? [0, VIDEO.cutFrame - 1] : [VIDEO.cutFrame, VIDEO.frames - 1];
    const win = lerp(SCENES[scene].from, SCENES[scene].to, (i - first) / (last - first));
    const h = (win.w * VIDEO.height) / VIDEO.width;
    out.push(
      await sharp(photos[scene])
        .extract({ left: Math.round(win.x), top: Math.round(win.y), width: Math.round(win.w), height: Math.round(h) })
        .resize(VIDEO.width, VIDEO.height, { fit: 'fill' })
        .raw()
        .toBuffer(),
    );
  }
  return out;
}

function encode(raw: Buffer[], file: string, codec: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ff = spawn(
      'ffmpeg',
      [
        '-y',
        '-loglevel',
        'error',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${VIDEO.width}x${VIDEO.height}`,
        '-r',
        String(VIDEO.fps),
        '-i',
        '-',
        ...codec,
        '-an',
        file,
      ],
      { stdio: ['pipe', 'inherit', 'inherit'] },
    );
    ff.on('error', reject);
    ff.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
    for (const f of raw) ff.stdin.write(f);
    ff.stdin.end();
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const raw = await frames();
  await encode(raw, path.join(FIXTURES, 'faces-4s.mp4'), [
    '-c:v',
    'libx264',
    '-profile:v',
    'baseline',
    '-pix_fmt',
    'yuv420p',
    '-crf',
    '30',
    '-g',
    '10',
    '-movflags',
    '+faststart',
  ]);
  await encode(raw, path.join(FIXTURES, 'faces-4s.webm'), ['-c:v', 'libvpx-vp9', '-crf', '50', '-b:v', '0', '-g', '10', '-row-mt', '1']);
  console.log('wrote tests/fixtures/faces-4s.mp4 and faces-4s.webm');
}
