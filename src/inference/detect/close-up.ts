/**
 * Faces that fill the photo (a selfie, a passport photo, a face cut out
 * tightly). Both detectors were trained on faces that take up a part of the
 * frame; on a face that fills it BlazeFace gives a whole-face box plus
 * half-face boxes, or misses it. So when the first look finds nothing, or a
 * face wider than `CLOSE_UP` of the photo's longest side, the detector looks
 * again at the photo on a grey canvas `PAD` x its longest side wider on every
 * side, where the same face is an ordinary size, and that answer is used.
 * Group photos (every face small) cost one pass, as before. How wide the
 * border is depends on the detector (its `closeUp`): SSD, trained on smaller
 * faces than BlazeFace, needs the face to be a smaller part of the frame, and
 * scores a face on a wide grey border lower, so it keeps lower scores there
 * (the border holds no face to mistake).
 *
 * Measured on the six demo photos' 22 faces cut out tightly and with a 30%
 * margin (`npm run bench -- faces`, README "Faces").
 */
import { suppressContained } from './overlap.js';
import type { DetectOptions, Detection, FaceDetector, Pixels } from './types.js';

/** A face box wider than this fraction of the photo's longest side makes it a close-up. */
export const CLOSE_UP = 0.3;
/** Grey border of the second look, as a fraction of the longest side, on every side. */
export const PAD = 0.2;
const GREY = 128;

/** `image` centred on a grey square canvas `pad` x its longest side wider on every side. */
export function padImage(image: Pixels, pad: number): { padded: Pixels; offsetX: number; offsetY: number } {
  const long = Math.max(image.width, image.height);
  const border = Math.round(long * pad);
  const side = long + 2 * border;
  const offsetX = Math.floor((side - image.width) / 2);
  const offsetY = Math.floor((side - image.height) / 2);
  const c = image.channels;
  const data = new Uint8Array(side * side * c).fill(GREY);
  const row = image.width * c;
  for (let y = 0; y < image.height; y++) {
    data.set(image.data.subarray(y * row, (y + 1) * row), ((y + offsetY) * side + offsetX) * c);
  }
  return { padded: { data, width: side, height: side, channels: c }, offsetX, offsetY };
}

function shift(d: Detection, dx: number, dy: number): Detection {
  const move = (p?: { x: number; y: number }) => (p ? { x: p.x - dx, y: p.y - dy } : undefined);
  return {
    ...d,
    x: d.x - dx,
    y: d.y - dy,
    ...(d.rightEye ? { rightEye: move(d.rightEye) } : {}),
    ...(d.leftEye ? { leftEye: move(d.leftEye) } : {}),
  };
}

export function isCloseUp(found: Detection[], image: { width: number; height: number }): boolean {
  const long = Math.max(image.width, image.height);
  return found.length === 0 || found.some((d) => Math.max(d.width, d.height) > CLOSE_UP * long);
}

/**
 * The borders a close-up is tried on, in turn until one shows a face: the
 * detector's own, then the default one (a face that already has some margin
 * can vanish into a wide border, as one of the 22 did for SSD).
 */
function secondLooks(detector: FaceDetector): { pad: number; minScore?: number }[] {
  const own = detector.closeUp;
  return own && own.pad !== PAD ? [own, { pad: PAD }] : [{ pad: PAD, minScore: own?.minScore }];
}

/** `detector` with the second look for close-ups and one box per face. */
export function withCloseUps(detector: FaceDetector): FaceDetector {
  return {
    name: detector.name,
    source: detector.source,
    margin: detector.margin,
    ...(detector.closeUp ? { closeUp: detector.closeUp } : {}),
    async detect(image: Pixels, options: DetectOptions): Promise<Detection[]> {
      let found = await detector.detect(image, options);
      if (isCloseUp(found, image)) {
        for (const look of secondLooks(detector)) {
          const { padded, offsetX, offsetY } = padImage(image, look.pad);
          const minScore = options.minScore ?? look.minScore;
          const again = await detector.detect(padded, minScore === undefined ? options : { ...options, minScore });
          // A face no second look can see (rare) keeps the first answer.
          if (again.length > 0) {
            found = again.map((d) => shift(d, offsetX, offsetY));
            break;
          }
        }
      }
      return suppressContained(found, options.maxFaces);
    },
    dispose() {
      detector.dispose();
    },
  };
}
