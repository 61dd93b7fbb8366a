/**
 * The 22 faces of @vladmandic/face-api's six demo photos (MIT licence, read
 * from node_modules), and the close-up photos made from them: each face cut
 * out tightly (the square the model reads, as a selfie or passport photo
 * fills the frame) and with a 30% margin on every side. The face squares are
 * fixed here, checked by eye, so a change to the detector cannot move the
 * test set. Shared by the face tests and `npm run bench -- faces`.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { packageDir } from '../inference/detect/package-dir.js';

export interface FaceSquare {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Each demo photo's faces, left to right, in the upright photo's pixels. */
export const DEMO_FACE_BOXES: Record<string, FaceSquare[]> = {
  sample1: [
    { x: 392, y: 381, width: 250, height: 250 },
    { x: 827, y: 452, width: 215, height: 215 },
    { x: 1469, y: 246, width: 194, height: 193 },
  ],
  sample2: [
    { x: 323, y: 163, width: 250, height: 250 },
    { x: 839, y: 241, width: 255, height: 255 },
    { x: 1424, y: 164, width: 251, height: 250 },
  ],
  sample3: [
    { x: 565, y: 361, width: 254, height: 253 },
    { x: 1034, y: 225, width: 305, height: 305 },
    { x: 1454, y: 332, width: 236, height: 236 },
  ],
  sample4: [
    { x: 214, y: 228, width: 219, height: 220 },
    { x: 652, y: 101, width: 209, height: 210 },
    { x: 950, y: 205, width: 249, height: 249 },
    { x: 1260, y: 184, width: 219, height: 219 },
  ],
  sample5: [
    { x: 328, y: 919, width: 253, height: 254 },
    { x: 553, y: 439, width: 233, height: 233 },
    { x: 755, y: 142, width: 214, height: 215 },
    { x: 1079, y: 230, width: 238, height: 238 },
    { x: 1390, y: 419, width: 259, height: 258 },
  ],
  sample6: [
    { x: 208, y: 505, width: 280, height: 281 },
    { x: 629, y: 356, width: 293, height: 293 },
    { x: 1110, y: 320, width: 300, height: 300 },
    { x: 1443, y: 292, width: 291, height: 292 },
  ],
};

/** Faces a person counts in each demo photo. */
export const DEMO_FACES: Record<string, number> = Object.fromEntries(Object.entries(DEMO_FACE_BOXES).map(([id, b]) => [id, b.length]));
export const DEMO_FACE_TOTAL = Object.values(DEMO_FACES).reduce((a, b) => a + b, 0);

/** The three sets: the photos as they are, each face cut tightly, each face with a 30% margin. */
export const FACE_SETS = ['full', 'tight', 'margin'] as const;
export type FaceSet = (typeof FACE_SETS)[number];
/** Margin of the `margin` set, as a fraction of the face square's side on every side. */
export const CROP_MARGIN = 0.3;

export interface DemoCase {
  set: FaceSet;
  /** e.g. "sample3" or "sample3 face 2". */
  name: string;
  photo: string;
  bytes: Buffer;
  /** The faces there, in this image's pixels. */
  faces: FaceSquare[];
  /** Which face of the full photo each of `faces` is (index into DEMO_FACE_BOXES[photo]). */
  faceIndex: number[];
}

/** The folder of the demo photos (sample1..6.jpg), or null when the package is not installed. */
export function demoPhotosDir(): string | null {
  const dir = packageDir('@vladmandic/face-api');
  const demo = dir && path.join(dir, 'demo');
  return demo && fs.existsSync(path.join(demo, 'sample3.jpg')) ? demo : null;
}

export function readDemoPhoto(id: string, dir = demoPhotosDir()): Buffer {
  if (!dir) throw new Error('@vladmandic/face-api demo photos are not installed (npm install)');
  return fs.readFileSync(path.join(dir, `${id}.jpg`));
}

/** `face` widened by `margin` x its side on every side, clamped to the photo. */
export function widen(face: FaceSquare, margin: number, photo: { width: number; height: number }): FaceSquare {
  const px = Math.round(face.width * margin);
  const py = Math.round(face.height * margin);
  const x = Math.max(0, face.x - px);
  const y = Math.max(0, face.y - py);
  return {
    x,
    y,
    width: Math.min(photo.width, face.x + face.width + px) - x,
    height: Math.min(photo.height, face.y + face.height + py) - y,
  };
}

/** Every case of one set (full: 6 photos; tight and margin: 22 one-face JPEGs). */
export async function demoCases(set: FaceSet, dir = demoPhotosDir()): Promise<DemoCase[]> {
  const out: DemoCase[] = [];
  for (const [photo, faces] of Object.entries(DEMO_FACE_BOXES)) {
    const bytes = readDemoPhoto(photo, dir);
    if (set === 'full') {
      out.push({ set, name: photo, photo, bytes, faces, faceIndex: faces.map((_, i) => i) });
      continue;
    }
    const meta = await sharp(bytes).metadata();
    const size = { width: meta.width!, height: meta.height! };
    for (const [i, face] of faces.entries()) {
      const cut = set === 'tight' ? face : widen(face, CROP_MARGIN, size);
      const jpeg = await sharp(bytes)
        .extract({ left: cut.x, top: cut.y, width: cut.width, height: cut.height })
        .jpeg({ quality: 90 })
        .toBuffer();
      out.push({
        set,
        name: `${photo} face ${i + 1}`,
        photo,
        bytes: jpeg,
        faces: [{ x: face.x - cut.x, y: face.y - cut.y, width: face.width, height: face.height }],
        faceIndex: [i],
      });
    }
  }
  return out;
}

interface Found {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Matches found boxes to the known faces: a face is found when a box's centre
 * lies inside its square (each box counts for one face at most); every other
 * box is extra. `matched[i]` is the box index for face i, or -1.
 */
export function matchFaces(faces: FaceSquare[], found: Found[]): { found: number; extra: number; matched: number[] } {
  const used = new Set<number>();
  const matched = faces.map((f) => {
    let best = -1;
    let bestD = Infinity;
    found.forEach((b, j) => {
      if (used.has(j)) return;
      const cx = b.x + b.width / 2;
      const cy = b.y + b.height / 2;
      if (cx < f.x || cx > f.x + f.width || cy < f.y || cy > f.y + f.height) return;
      const d = Math.hypot(cx - (f.x + f.width / 2), cy - (f.y + f.height / 2));
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    });
    if (best >= 0) used.add(best);
    return best;
  });
  const hits = matched.filter((m) => m >= 0).length;
  return { found: hits, extra: found.length - hits, matched };
}

export interface SetScore {
  set: FaceSet;
  /** Faces found, of `expected`. */
  found: number;
  expected: number;
  /** Boxes that are no known face (a half-face box, a second box on one face, a false alarm). */
  extra: number;
  /** The cases that were not perfect, e.g. "sample3 face 1: 1/1 +2". */
  misses: string[];
  /** Per known face ("sample3#0"), the index of its box in that case's detections, for label comparisons. */
  boxes: Map<string, { caseIndex: number; box: number }>;
}

/** Runs `detect` (boxes in the case image's pixels) on every case of a set and scores it. */
export async function scoreSet<T extends Found>(
  cases: DemoCase[],
  detect: (c: DemoCase, index: number) => Promise<T[]>,
): Promise<SetScore> {
  const score: SetScore = { set: cases[0]?.set ?? 'full', found: 0, expected: 0, extra: 0, misses: [], boxes: new Map() };
  for (const [ci, c] of cases.entries()) {
    const m = matchFaces(c.faces, await detect(c, ci));
    score.found += m.found;
    score.expected += c.faces.length;
    score.extra += m.extra;
    if (m.found < c.faces.length || m.extra > 0)
      score.misses.push(`${c.name}: ${m.found}/${c.faces.length}${m.extra ? ` +${m.extra}` : ''}`);
    m.matched.forEach((box, i) => {
      if (box >= 0) score.boxes.set(`${c.photo}#${c.faceIndex[i]}`, { caseIndex: ci, box });
    });
  }
  return score;
}
