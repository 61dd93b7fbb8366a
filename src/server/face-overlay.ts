/**
 * The photo with numbered boxes, for the result view: a downsized JPEG of the
 * photo (data: URL) and, drawn over it by an inline SVG in the photo's own
 * pixel coordinates, one box per face coloured by its expression, its number
 * in a tag, and (when explained) its Grad-CAM heatmap turned like the crop.
 * Drawn on the server so the result also works without JavaScript; colours
 * come from CSS classes (no style attributes: the CSP forbids them).
 */
import sharp from 'sharp';
import type { Analysis } from '../inference/pipeline.js';
import type { Label } from '../types.js';
import { heatmapDataUrl } from './heatmap-png.js';

/** Longest side of the photo shown in the result. */
export const PREVIEW_SIZE = 960;

export interface OverlayBox {
  /** 1-based, as printed on the photo and over the face's bars. */
  number: number;
  label: Label;
  x: number; y: number; width: number; height: number;
  /** The number tag: a small square at the box's top-left corner. */
  tag: { x: number; y: number; size: number };
  /** The heatmap over the (rotated) square the model saw. */
  heat?: { href: string; x: number; y: number; size: number; transform: string };
}

export interface OverlayView {
  photoUrl: string;
  /** The upright photo's size: the SVG's coordinate system. */
  width: number;
  height: number;
  stroke: number;
  fontSize: number;
  boxes: OverlayBox[];
  /** Text alternative for the whole picture. */
  alt: string;
}

const round = (v: number) => Math.round(v * 10) / 10;

async function previewUrl(a: Analysis): Promise<string> {
  const { rgb, width, height } = a.working;
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

export async function faceOverlay(a: Analysis): Promise<OverlayView> {
  const { width, height } = a.image;
  const long = Math.max(width, height);
  const stroke = round(Math.max(2, long / 300));
  const size = round(Math.max(14, long / 28));
  const boxes = await Promise.all(a.faces.map(async (f, i): Promise<OverlayBox> => {
    const { x, y, width: w, height: h } = f.box;
    const r = f.region;
    const box: OverlayBox = {
      number: i + 1, label: f.label, x, y, width: w, height: h,
      tag: { x, y: y >= size ? y - size : y, size },
    };
    if (f.heatmap) {
      const deg = round((r.angle * 180) / Math.PI);
      box.heat = {
        href: await heatmapDataUrl(f.heatmap),
        x: round(r.centre.x - r.side / 2), y: round(r.centre.y - r.side / 2), size: round(r.side),
        transform: deg === 0 ? '' : `rotate(${deg} ${round(r.centre.x)} ${round(r.centre.y)})`,
      };
    }
    return box;
  }));
  const alt = a.faces.length === 0
    ? 'The photo; no face was found in it.'
    : `The photo with ${a.faces.length} numbered ${a.faces.length === 1 ? 'box' : 'boxes'}: ${a.faces.map((f, i) => `${i + 1} ${f.label}`).join(', ')}.`;
  return { photoUrl: await previewUrl(a), width, height, stroke, fontSize: round(size * 0.75), boxes, alt };
}
