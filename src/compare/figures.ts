/**
 * Self-contained figures (SVG and HTML strings, PNG faces) for the analysis
 * notebooks, so a notebook cell shows a chart with one call and no plotting
 * library. (The /compare page has its own templates and uPlot.)
 */
import sharp from 'sharp';
import { FACE_SIZE } from '../types.js';
import { rowNormalise } from './analysis.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#e8590c', '#0b7285', '#5c940d'];

export interface Bar { label: string; value: number; note?: string }

/** Horizontal bars, one per item, with the value printed at the end. */
export function barChartSvg(items: Bar[], options: { title?: string; format?: (v: number) => string; max?: number } = {}): string {
  const fmt = options.format ?? ((v: number) => String(v));
  const max = options.max ?? Math.max(1e-9, ...items.map((i) => i.value));
  const row = 22, left = 90, width = 300, top = options.title ? 26 : 6;
  const h = top + items.length * row + 6;
  const bars = items.map((it, i) => {
    const y = top + i * row;
    const w = Math.max(0, (it.value / max) * width);
    return `<text x="${left - 6}" y="${y + 15}" text-anchor="end">${esc(it.label)}</text>`
      + `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${PALETTE[0]}"/>`
      + `<text x="${left + w + 6}" y="${y + 15}">${esc(fmt(it.value))}${it.note ? ` ${esc(it.note)}` : ''}</text>`;
  }).join('');
  const title = options.title ? `<text x="4" y="16" font-weight="bold">${esc(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 120}" height="${h}" font-family="sans-serif" font-size="12">${title}${bars}</svg>`;
}

/** Groups of bars: one group per category, one bar per series (e.g. F1 per class per model). */
export function groupedBarsSvg(categories: string[], series: Array<{ name: string; values: number[] }>, options: { title?: string; max?: number } = {}): string {
  const max = options.max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const barW = 14, gap = 18, left = 40, plotH = 160, top = options.title ? 28 : 8;
  const groupW = series.length * barW + gap;
  const width = left + categories.length * groupW + 10;
  const bottom = top + plotH;
  let out = '';
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4, y = bottom - (v / max) * plotH;
    out += `<line x1="${left}" x2="${width}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 4}" y="${y + 4}" text-anchor="end">${v.toFixed(2)}</text>`;
  }
  categories.forEach((c, ci) => {
    const x0 = left + ci * groupW + gap / 2;
    series.forEach((s, si) => {
      const hgt = (s.values[ci] / max) * plotH;
      out += `<rect x="${x0 + si * barW}" y="${(bottom - hgt).toFixed(1)}" width="${barW - 2}" height="${hgt.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${s.name} ${c}: ${s.values[ci].toFixed(3)}`)}</title></rect>`;
    });
    out += `<text x="${x0 + (series.length * barW) / 2}" y="${bottom + 14}" text-anchor="middle">${esc(c)}</text>`;
  });
  const legend = series.map((s, si) => `<rect x="${left + si * 150}" y="${bottom + 24}" width="10" height="10" fill="${PALETTE[si % PALETTE.length]}"/>`
    + `<text x="${left + si * 150 + 14}" y="${bottom + 33}">${esc(s.name)}</text>`).join('');
  const title = options.title ? `<text x="4" y="16" font-weight="bold">${esc(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, left + series.length * 150)}" height="${bottom + 44}" font-family="sans-serif" font-size="11">${title}${out}${legend}</svg>`;
}

export interface LineSeries { name: string; values: number[]; dashed?: boolean }

/** Lines over x (e.g. loss per epoch), with optional dashed vertical markers (learning-rate changes). */
export function lineChartSvg(x: number[], series: LineSeries[], options: { title?: string; markers?: Array<{ x: number; text: string }> } = {}): string {
  const W = 420, H = 220, l = 44, r = 10, t = options.title ? 28 : 10, b = 40;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const x0 = Math.min(...x), x1 = Math.max(x0 + 1, ...x);
  const px = (v: number) => l + ((v - x0) / (x1 - x0)) * (W - l - r);
  const py = (v: number) => t + (1 - (v - lo) / (hi - lo)) * (H - t - b);
  let out = '';
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    out += `<line x1="${l}" x2="${W - r}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/><text x="${l - 4}" y="${py(v) + 4}" text-anchor="end">${v.toPrecision(3)}</text>`;
  }
  for (const m of options.markers ?? []) {
    const xm = px(m.x - 0.5);
    out += `<line x1="${xm}" x2="${xm}" y1="${t}" y2="${H - b}" stroke="#888" stroke-dasharray="4 4"/><text x="${xm + 3}" y="${t + 10}" fill="#666">${esc(m.text)}</text>`;
  }
  series.forEach((s, i) => {
    const pts = s.values.map((v, k) => `${px(x[k]).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out += `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''} points="${pts}"/>`;
    out += `<text x="${l + i * 120}" y="${H - 8}" fill="${PALETTE[i % PALETTE.length]}">${esc(s.name)}</text>`;
  });
  out += `<text x="${W - r}" y="${H - 24}" text-anchor="end">${x0}…${x1}</text>`;
  const title = options.title ? `<text x="4" y="16" font-weight="bold">${esc(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">${title}${out}</svg>`;
}

/** A confusion matrix as an HTML table: count and row share per cell, shaded by the share. */
export function confusionHtml(confusion: number[][], labels: readonly string[], title = ''): string {
  const rates = rowNormalise(confusion);
  const head = `<tr><th>true ↓ / predicted →</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>`;
  const rows = confusion.map((row, t) => `<tr><th style="text-align:left">${esc(labels[t])}</th>${row.map((n, p) => {
    const r = rates[t][p];
    const bg = `rgba(47,111,223,${(0.08 + 0.92 * r).toFixed(2)})`;
    const border = t === p ? 'outline:2px solid #222;outline-offset:-2px;' : '';
    return `<td style="background:${bg};color:${r > 0.5 ? '#fff' : '#111'};${border}padding:3px 6px;text-align:center">${n}<br><small>${(r * 100).toFixed(0)}%</small></td>`;
  }).join('')}</tr>`).join('');
  return `${title ? `<p><b>${esc(title)}</b></p>` : ''}<table style="border-collapse:collapse;font-size:12px">${head}${rows}</table>`;
}

/** PNG of one 48x48 grey face (0-255), enlarged without smoothing. */
export async function facePng(face: Uint8Array, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(face.buffer, face.byteOffset, FACE_SIZE * FACE_SIZE), { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 } })
    .resize(FACE_SIZE * scale, FACE_SIZE * scale, { kernel: 'nearest' }).png().toBuffer();
}

/** A grid of faces with captions, as HTML with embedded PNGs. */
export async function faceGridHtml(items: Array<{ face: Uint8Array; caption: string }>, scale = 2): Promise<string> {
  const cells = await Promise.all(items.map(async (it) => {
    const png = (await facePng(it.face, scale)).toString('base64');
    return `<figure style="margin:4px;display:inline-block;text-align:center;font-size:11px;width:${FACE_SIZE * scale + 8}px">`
      + `<img src="data:image/png;base64,${png}" width="${FACE_SIZE * scale}" height="${FACE_SIZE * scale}" style="image-rendering:pixelated">`
      + `<figcaption>${esc(it.caption)}</figcaption></figure>`;
  }));
  return `<div>${cells.join('')}</div>`;
}

/** A plain HTML table from rows of cells (the first row is the header). */
export function tableHtml(rows: Array<Array<string | number>>): string {
  const [head, ...body] = rows;
  const cell = (tag: string, v: string | number) => `<${tag} style="padding:2px 8px;text-align:${typeof v === 'number' ? 'right' : 'left'}">${esc(String(v))}</${tag}>`;
  return `<table style="border-collapse:collapse;font-size:12px"><tr>${head.map((v) => cell('th', v)).join('')}</tr>`
    + body.map((r) => `<tr>${r.map((v) => cell('td', v)).join('')}</tr>`).join('') + '</table>';
}
