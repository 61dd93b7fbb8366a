/**
 * The photo with numbered boxes, for the result view: a downsized JPEG of the
 * photo (data: URL) and, drawn over it by an inline SVG in the photo's own
 * pixel coordinates, one box per face coloured by its expression and (when
 * explained) its Grad-CAM heatmap turned like the crop. The number tags are a
 * second SVG placed in percent of the photo but sized in screen pixels, and
 * the box lines do not scale either, so both read the same on a phone and on
 * a big screen, for a 48x48 face or a 4000 px photo. A small photo is shown
 * at a modest size rather than stretched to the column. Drawn on the server so
 * the result also works without JavaScript; colours come from CSS classes (no
 * style attributes: the CSP forbids them).
 */
import sharp from 'sharp';
import type { Analysis } from '../../inference/pipeline.js';
import type { Label } from '../../types.js';
import { heatmapDataUrl } from './heatmap-png.js';
import { uiLocals } from '../http/request-context.js';

/** Longest side of the photo shown in the result. */
export const PREVIEW_SIZE = 960;
/** A photo whose longer side is smaller than this (CSS px) is enlarged to it, no further. */
export const MIN_SHOWN = 160;

export interface OverlayBox {
  /** 1-based, as printed on the photo and over the face's bars. */
  number: number;
  label: Label;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Where the number tag's corner is, in percent of the photo; `above`: the tag sits on the box's top edge, else just inside it. */
  tag: { left: number; top: number; above: boolean };
  /** The heatmap over the (rotated) square the model saw. */
  heat?: { href: string; x: number; y: number; size: number; transform: string };
}

export interface OverlayView {
  photoUrl: string;
  /** The upright photo's size: the SVG's coordinate system. */
  width: number;
  height: number;
  /** The size it is shown at (CSS px) when the column is wide enough. */
  shownWidth: number;
  shownHeight: number;
  /** Enlarged (a small photo): drawn with sharp pixels. */
  enlarged: boolean;
  boxes: OverlayBox[];
  /** Text alternative for the whole picture. */
  alt: string;
}

const round = (v: number) => Math.round(v * 10) / 10;
const percent = (v: number) => Math.round(v * 1000) / 10;

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
  const scale = Math.max(1, MIN_SHOWN / Math.max(width, height));
  const boxes = await Promise.all(
    a.faces.map(async (f, i): Promise<OverlayBox> => {
      const { x, y, width: w, height: h } = f.box;
      const r = f.region;
      const box: OverlayBox = {
        number: i + 1,
        label: f.label,
        x,
        y,
        width: w,
        height: h,
        // Above the box when there is room for a 22 px tag over it at the usual sizes, else inside its top.
        tag: { left: percent(x / width), top: percent(y / height), above: y / height >= 0.08 },
      };
      if (f.heatmap) {
        const deg = round((r.angle * 180) / Math.PI);
        box.heat = {
          href: await heatmapDataUrl(f.heatmap),
          x: round(r.centre.x - r.side / 2),
          y: round(r.centre.y - r.side / 2),
          size: round(r.side),
          transform: deg === 0 ? '' : `rotate(${deg} ${round(r.centre.x)} ${round(r.centre.y)})`,
        };
      }
      return box;
    }),
  );
  const { t } = uiLocals();
  const alt =
    a.faces.length === 0
      ? t('overlay.altNoFace')
      : t(a.faces.length === 1 ? 'overlay.altOne' : 'overlay.altMany', {
          n: a.faces.length,
          list: a.faces.map((f, i) => `${i + 1} ${t(`label.${f.label}`)}`).join(', '),
        });
  return {
    photoUrl: await previewUrl(a),
    width,
    height,
    shownWidth: Math.round(width * scale),
    shownHeight: Math.round(height * scale),
    enlarged: scale > 1,
    boxes,
    alt,
  };
}
