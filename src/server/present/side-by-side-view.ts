/**
 * A side-by-side analysis -> plain data for views/result-all.eta: the photo
 * with its numbered boxes (coloured by the label most models give), then per
 * face one column per model with its seven bars sorted as in the single-model
 * view (verdict).
 */
import type { SideBySide } from '../../inference/side-by-side.js';
import type { Scores } from '../../inference/predict.js';
import type { Label } from '../../types.js';
import { verdict, type Verdict } from './prediction.js';
import { faceDataUrl } from './view-models.js';
import { faceOverlay, type OverlayView } from './face-overlay.js';

export interface ModelColumn extends Verdict {
  model: string;
  flagToken?: string;
}
export interface SideBySideFace {
  index: number;
  /** 1-based, as on the photo's box. */
  number: number;
  faceUrl: string;
  columns: ModelColumn[];
  agree: boolean;
  /** How many models give the most common label ("2 of 3 models agree"), and that label. */
  agreeing: number;
  majority: Label;
}
export interface SideBySideView {
  models: string[];
  ms: string;
  image: string;
  faces: SideBySideFace[];
  /** The photo with the numbered boxes. */
  overlay: OverlayView;
}

/** The label most models give (the first model's on a tie) and how many give it. */
export function majorityOf(labels: Label[]): { agreeing: number; majority: Label } {
  let best = { agreeing: 0, majority: labels[0] };
  for (const l of labels) {
    const n = labels.filter((x) => x === l).length;
    if (n > best.agreeing) best = { agreeing: n, majority: l };
  }
  return best;
}

/** `sign` (when flagging is on) gives each column the token of its "Wrong? Flag it" form: the flag names that model. */
export async function toSideBySideView(
  a: SideBySide,
  sign?: (model: string, scores: Scores, face: Uint8Array) => string,
): Promise<SideBySideView> {
  const faces = await Promise.all(
    a.faces.map(async (f, i): Promise<SideBySideFace> => ({
      index: i,
      number: i + 1,
      faceUrl: await faceDataUrl(f.face),
      agree: f.byModel.every((v) => v.label === f.byModel[0].label),
      ...majorityOf(f.byModel.map((v) => v.label)),
      columns: f.byModel.map((v, m) => ({
        model: v.model,
        ...verdict(v.label, v.scores, `face${i}-m${m}`),
        flagToken: sign?.(v.model, v.scores, f.face),
      })),
    })),
  );
  // Each box takes the colour and name of the label most models give.
  const overlay = await faceOverlay({ ...a.analysis, faces: a.analysis.faces.map((f, i) => ({ ...f, label: faces[i].majority })) });
  const { width, height, format } = a.image;
  return {
    models: a.models,
    ms: a.ms.toFixed(0),
    image: `${width} × ${height} ${format === 'heif' ? 'AVIF' : format.toUpperCase()}`,
    faces,
    overlay,
  };
}
