/**
 * Test-time augmentation: the views of a face a model is run on, their
 * probabilities then averaged (predict.ts). Views are made from the 48x48
 * grey faces, before facesToTensor, so every model (any input size) and
 * private mode's bundle see the same views of the same face.
 */
import { FACE_SIZE } from '../types.js';
import type { ModelCard } from '../artifacts/card.js';
import { FACE_PIXELS, flipFaces } from './preprocess.js';

/** 'none': the face alone; 'flip': the face and its mirror; 'shift': both, each also moved by TTA_SHIFT pixels four ways. */
export type TtaKind = 'none' | 'flip' | 'shift';

/**
 * Pixels a 'shift' view moves the face by. 2 is the setting measured on PublicTest: ten views gained
 * about a point of accuracy over flip for MobileNetV2 (a McNemar-significant difference) and nothing
 * that mattered for the CNN.
 */
export const TTA_SHIFT = 2;

/** The moves of a 'shift' view, [dx, dy] (positive: right, down), applied to the face and to its mirror. */
const SHIFTS: ReadonlyArray<readonly [number, number]> = [
  [-TTA_SHIFT, 0],
  [TTA_SHIFT, 0],
  [0, -TTA_SHIFT],
  [0, TTA_SHIFT],
];

/** How many views a kind runs per face: 1, 2 or 10. */
export function viewCount(kind: TtaKind): number {
  return kind === 'none' ? 1 : kind === 'flip' ? 2 : 2 * (1 + SHIFTS.length);
}

/** How a report names what a model was measured or served with. */
export function servedWith(kind: TtaKind): string {
  if (kind === 'none') return 'without TTA';
  return kind === 'flip' ? 'with flip TTA' : `with shift TTA (${viewCount(kind)} views)`;
}

/**
 * What a prediction uses. `asked` is a request's choice (?tta=1/0, --tta/--no-tta): undefined takes the
 * card's kind, false none, true the card's kind unless that is none, then flip (the cheapest views).
 */
export function ttaOf(cardTta: ModelCard['tta'], asked?: boolean): TtaKind {
  const kind = cardTta ?? 'none';
  if (asked === undefined) return kind;
  if (!asked) return 'none';
  return kind === 'none' ? 'flip' : kind;
}

/**
 * Faces moved by (dx, dy) pixels (positive: right, down), the edge rows and columns repeated into the
 * space they leave (clamp): no border of a value the faces never have.
 */
export function shiftFaces(faces: Float32Array | Uint8Array, dx: number, dy: number): Float32Array {
  const S = FACE_SIZE;
  const out = new Float32Array(faces.length);
  const clamp = (v: number) => (v < 0 ? 0 : v > S - 1 ? S - 1 : v);
  for (let off = 0; off < faces.length; off += FACE_PIXELS) {
    for (let y = 0; y < S; y++) {
      const row = off + clamp(y - dy) * S;
      for (let x = 0; x < S; x++) out[off + y * S + x] = faces[row + clamp(x - dx)];
    }
  }
  return out;
}

/**
 * The views of n faces for `kind`, concatenated view by view (the n faces as they are, then the n
 * mirrored, then each shift of the faces and of the mirrors), so one forward pass serves them all and
 * view v of face i is row v * n + i of the model's answer. 'none' gives `faces` itself.
 */
export function ttaViews(faces: Float32Array | Uint8Array, kind: TtaKind): Float32Array | Uint8Array {
  if (faces.length % FACE_PIXELS !== 0) throw new Error(`faces buffer has ${faces.length} values, not a multiple of ${FACE_PIXELS}`);
  if (kind === 'none') return faces;
  const mirrored = flipFaces(faces);
  const bases = [faces, mirrored];
  const views: Array<Float32Array | Uint8Array> = [...bases];
  if (kind === 'shift') for (const base of bases) for (const [dx, dy] of SHIFTS) views.push(shiftFaces(base, dx, dy));
  const out = new Float32Array(views.length * faces.length);
  views.forEach((v, i) => out.set(v, i * faces.length));
  return out;
}
