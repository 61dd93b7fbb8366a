/**
 * Turns analysis results and registry state into plain data for the
 * templates, so the templates only print and loop.
 */
import sharp from 'sharp';
import type { Analysis } from '../inference/pipeline.js';
import { cardAccuracy, type ModelRegistry } from '../inference/registry.js';
import { FACE_SIZE, LABELS, type Label } from '../types.js';

export const EMOJI: Record<Label, string> = {
  angry: '😠', disgust: '🤢', fear: '😨', happy: '😄', sad: '😢', surprise: '😮', neutral: '😐',
};

export interface BarView { label: Label; id: string; value: string; percent: string; top: boolean }
export interface FaceView {
  index: number;
  label: Label;
  emoji: string;
  percent: string;
  /** PNG data URL of the 48x48 face the model saw. */
  faceUrl: string;
  bars: BarView[];
}
export interface ResultView {
  model: string;
  modelName: string;
  ms: string;
  image: string;
  faces: FaceView[];
}

export interface ModelOption { id: string; text: string; selected: boolean }

export function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

async function faceDataUrl(face: Uint8Array): Promise<string> {
  const png = await sharp(face, { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export async function toResultView(analysis: Analysis, modelName: string): Promise<ResultView> {
  const faces = await Promise.all(analysis.faces.map(async (f, i): Promise<FaceView> => {
    const bars = LABELS.map((label) => ({ label, p: f.scores[label] }))
      .sort((a, b) => b.p - a.p)
      .map(({ label, p }): BarView => ({
        label,
        id: `face${i}-${label}`,
        value: p.toFixed(4),
        percent: percent(p),
        top: label === f.label,
      }));
    return {
      index: i,
      label: f.label,
      emoji: EMOJI[f.label],
      percent: percent(f.scores[f.label]),
      faceUrl: await faceDataUrl(f.face),
      bars,
    };
  }));
  const { width, height, format } = analysis.image;
  return {
    model: analysis.model,
    modelName,
    ms: analysis.ms.toFixed(0),
    image: `${width} × ${height} ${format === 'heif' ? 'AVIF' : format.toUpperCase()}`,
    faces,
  };
}

export function modelOptions(registry: ModelRegistry, selected?: string | null): ModelOption[] {
  const chosen = selected && registry.get(selected) ? selected : registry.defaultId;
  return registry.models.map((m) => {
    const acc = cardAccuracy(m.card);
    return {
      id: m.id,
      text: acc >= 0 ? `${m.id} (${percent(acc)} on the FER2013 test set)` : m.id,
      selected: m.id === chosen,
    };
  });
}
