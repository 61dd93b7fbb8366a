/**
 * Turns analysis results and registry state into plain data for the
 * templates, so the templates only print and loop.
 */
import sharp from 'sharp';
import type { Analysis } from '../../inference/pipeline.js';
import { cardAccuracy, type ModelRegistry } from '../../inference/registry.js';
import { FACE_SIZE } from '../../types.js';
import { percent, verdict, type Verdict } from './prediction.js';
import { uiLocals } from '../http/request-context.js';
import { faceOverlay, type OverlayView } from './face-overlay.js';
import { noFaceView, type NoFaceView, type ResultContext } from './no-face.js';

/** One face of one model's result: its verdict (prediction.ts) and where it is. */
export interface FaceView extends Verdict {
  index: number;
  /** PNG data URL of the 48x48 face the model saw. */
  faceUrl: string;
  /** 1-based number, as on the photo's box. */
  number: number;
  /** Grad-CAM overlay for the crop (PNG data URL), when explained. */
  heatUrl?: string;
  /** Signed token for the "Wrong? Flag it" form (flagging/token.ts); absent when flagging is off. */
  flagToken?: string;
}
export interface ResultView {
  model: string;
  modelName: string;
  ms: string;
  image: string;
  faces: FaceView[];
  /** The photo with the numbered boxes. */
  overlay: OverlayView;
  /** Set when no face was found: the message and the whole-image offer. */
  noFace: NoFaceView | null;
  /** Heatmaps were computed: the page shows their on/off switch. */
  explained: boolean;
  /** How the faces were found, in words. */
  faceSource: string;
}

export interface ModelOption {
  id: string;
  text: string;
  selected: boolean;
}

export async function faceDataUrl(face: Uint8Array): Promise<string> {
  const png = await sharp(face, { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export async function toResultView(analysis: Analysis, modelName: string, context: ResultContext = {}): Promise<ResultView> {
  const overlay = await faceOverlay(analysis);
  const faces = await Promise.all(
    analysis.faces.map(async (f, i): Promise<FaceView> => {
      return {
        index: i,
        ...verdict(f.label, f.scores, `face${i}`),
        faceUrl: await faceDataUrl(f.face),
        number: i + 1,
        heatUrl: overlay.boxes[i].heat?.href,
      };
    }),
  );
  const { width, height, format } = analysis.image;
  return {
    model: analysis.model,
    modelName,
    ms: analysis.ms.toFixed(0),
    image: `${width} × ${height} ${format === 'heif' ? 'AVIF' : format.toUpperCase()}`,
    faces,
    overlay,
    noFace: analysis.noFace ? noFaceView(analysis, context) : null,
    explained: analysis.faces.some((f) => f.heatmap),
    faceSource:
      analysis.faceSource === 'whole-image'
        ? uiLocals().t('result.wholeImage')
        : uiLocals().t('result.foundBy', { detector: analysis.faceSource }),
  };
}

export function modelOptions(registry: ModelRegistry, selected?: string | null): ModelOption[] {
  const chosen = selected && registry.get(selected) ? selected : registry.defaultId;
  return registry.models.map((m) => {
    const acc = cardAccuracy(m.card);
    return {
      id: m.id,
      text: acc >= 0 ? uiLocals().t('index.modelAccuracy', { model: m.id, accuracy: percent(acc) }) : m.id,
      selected: m.id === chosen,
    };
  });
}
