/**
 * The face detector the server uses, loaded once per process and shared.
 * BlazeFace is the default (see README "Face detection" for the comparison);
 * face-api's SSD is the alternative, and the fallback when
 * @vladmandic/human is not installed.
 */
import { initBackend } from '../../tf/backend.js';
import { loadBlazeFace } from './blazeface.js';
import { withCloseUps } from './close-up.js';
import { loadSsd } from './ssd.js';
import type { FaceDetector } from './types.js';

export const DETECTORS = ['blazeface', 'ssd'] as const;
export type DetectorName = (typeof DETECTORS)[number];
export const DEFAULT_DETECTOR: DetectorName = 'blazeface';

const LOADERS: Record<DetectorName, () => Promise<FaceDetector>> = { blazeface: loadBlazeFace, ssd: loadSsd };
const loaded = new Map<DetectorName, Promise<FaceDetector>>();

/**
 * The named detector (default BlazeFace), loading it on first use. When the
 * default cannot load, the other one is tried and the reason is logged.
 */
export function getFaceDetector(name: DetectorName = DEFAULT_DETECTOR, log: (msg: string) => void = () => {}): Promise<FaceDetector> {
  let p = loaded.get(name);
  if (!p) {
    p = (async () => {
      await initBackend();
      try {
        return withCloseUps(await LOADERS[name]());
      } catch (e) {
        if (name !== DEFAULT_DETECTOR) throw e;
        const other: DetectorName = 'ssd';
        log(`faces: ${name} could not load (${(e as Error).message}); using ${other}`);
        return getFaceDetector(other, log);
      }
    })();
    p.catch(() => loaded.delete(name));
    loaded.set(name, p);
  }
  return p;
}

/** Frees every loaded detector (tests and shutdown). */
export async function disposeFaceDetectors(): Promise<void> {
  const all = await Promise.allSettled([...loaded.values()]);
  loaded.clear();
  // A fallback is stored under both names: dispose each detector once.
  const detectors = new Set(all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
  for (const d of detectors) d.dispose();
}

export type { Detection, FaceDetector, Pixels, Point } from './types.js';
