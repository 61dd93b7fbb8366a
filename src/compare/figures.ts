/**
 * Self-contained figures (SVG and HTML strings, PNG faces) for the analysis
 * notebooks, so a notebook cell shows a chart with one call and no plotting
 * library. (The /compare page has its own templates and uPlot.)
 */
import sharp from 'sharp';
import { FACE_SIZE } from '../types.js';
import { rowNormalise, type ReliabilityBin } from './analysis.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const PALETTE = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#e8590c', '#0b7285', '#5c940d'];

export interface Bar {
  label: string;
  value: number;
  note?: string;
}

/** Horizontal bars, one per item, with the value printed at the end. */
export function barChartSvg(items: Bar[], options: { title?: string; format?: (v: number) => string; max?: number } = {}): string {
  const fmt = options.format ?? ((v: number) => String(v));
  const max = options.max ?? Math.max(1e-9, ...items.map((i) => i.value));
  const row = 22,
    left = 90,
    width = 300,
    top = options.title ? 26 : 6;
  const h = top + items.length * row + 6;
  const bars = items
    .map((it, i) => {
      const y = top + i * row;
      const w = Math.max(0, (it.value / max) * width);
      return (
        `<text x="${left - 6}" y="${y + 15}" text-anchor="end">${esc(it.label)}</text>` +
        `<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${PALETTE[0]}"/>` +
        `<text x="${left + w + 6}" y="${y + 15}">${esc(fmt(it.value))}${it.note ? ` ${esc(it.note)}` : ''}</text>`
      );
    })
    .join('');
  const title = options.title ? `<text x="4" y="16" font-weight="bold">${esc(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 120}" height="${h}" font-family="sans-serif" font-size="12">${title}${bars}</svg>`;
}

/** Groups of bars: one group per category, one bar per series (e.g. F1 per class per model). */
export function groupedBarsSvg(
  categories: string[],
  series: Array<{ name: string; values: number[] }>,
  options: { title?: string; max?: number } = {},
): string {
  const max = options.max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const barW = 14,
    gap = 18,
    left = 40,
    plotH = 160,
    top = options.title ? 28 : 8;
  const groupW = series.length * barW + gap;
  const width = left + categories.length * groupW + 10;
  const bottom = top + plotH;
  let out = '';
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4,
      y = bottom - (v / max) * plotH;
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
  const legend = series
    .map(
      (s, si) =>
        `<rect x="${left + si * 150}" y="${bottom + 24}" width="10" height="10" fill="${PALETTE[si % PALETTE.length]}"/>` +
        `<text x="${left + si * 150 + 14}" y="${bottom + 33}">${esc(s.name)}</text>`,
    )
    .join('');
  const title = options.title ? `<text x="4" y="16" font-weight="bold">${esc(options.title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(width, left + series.length * 150)}" height="${bottom + 44}" font-family="sans-serif" font-size="11">${title}${out}${legend}</svg>`;
}

export interface LineSeries {
  name: string;
  values: number[];
  dashed?: boolean;
}

/** Lines over x (e.g. loss per epoch), with optional dashed vertical markers (learning-rate changes). */
export function lineChartSvg(
  x: number[],
  series: LineSeries[],
  options: { title?: string; markers?: Array<{ x: number; text: string }> } = {},
): string {
  const W = 420,
    H = 220,
    l = 44,
    r = 10,
    t = options.title ? 28 : 10,
    b = 40;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all),
    hi = Math.max(...all);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const x0 = Math.min(...x),
    x1 = Math.max(x0 + 1, ...x);
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

/** PNG of one 48x48 grey face (0-255), enlarged without smoothing. */
export async function facePng(face: Uint8Array, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(face.buffer, face.byteOffset, FACE_SIZE * FACE_SIZE), {
    raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 },
  })
    .resize(FACE_SIZE * scale, FACE_SIZE * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
}

/** A confusion matrix as a heatmap: count and row share per cell, shaded by the share, the diagonal outlined. */
export function confusionSvg(confusion: number[][], labels: readonly string[], title = ''): string {
  const rates = rowNormalise(confusion);
  const cw = 62,
    ch = 36,
    left = 78,
    top = (title ? 26 : 6) + 34;
  const n = labels.length;
  let out =
    `<text x="${left + (n * cw) / 2}" y="${top - 22}" text-anchor="middle" fill="#555">predicted</text>` +
    `<text transform="translate(12 ${top + (n * ch) / 2}) rotate(-90)" text-anchor="middle" fill="#555">true</text>`;
  labels.forEach((l, i) => {
    out +=
      `<text x="${left + i * cw + cw / 2}" y="${top - 6}" text-anchor="middle">${esc(l)}</text>` +
      `<text x="${left - 6}" y="${top + i * ch + ch / 2 + 4}" text-anchor="end">${esc(l)}</text>`;
  });
  confusion.forEach((row, t) =>
    row.forEach((count, p) => {
      const r = rates[t][p],
        x = left + p * cw,
        y = top + t * ch;
      const fg = r > 0.5 ? '#fff' : '#111';
      out +=
        `<rect x="${x}" y="${y}" width="${cw}" height="${ch}" fill="rgb(47,111,223)" fill-opacity="${(0.06 + 0.94 * r).toFixed(2)}"` +
        `${t === p ? ' stroke="#222" stroke-width="2"' : ' stroke="#fff"'}/>` +
        `<text x="${x + cw / 2}" y="${y + 15}" text-anchor="middle" fill="${fg}">${count}</text>` +
        `<text x="${x + cw / 2}" y="${y + 29}" text-anchor="middle" fill="${fg}" font-size="10">${(r * 100).toFixed(0)}%</text>`;
    }),
  );
  const head = title ? `<text x="4" y="16" font-weight="bold">${esc(title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + n * cw + 8}" height="${top + n * ch + 8}" font-family="sans-serif" font-size="12">${head}${out}</svg>`;
}

export interface FaceItem {
  face: Uint8Array;
  caption: string;
}
export interface FaceSection {
  title?: string;
  items: FaceItem[];
}

/**
 * Faces with captions in rows, one section (e.g. one class) after the other,
 * as one SVG with the faces embedded as PNG: rasterise it with `svgPng`.
 */
export async function faceGridSvg(
  sections: FaceSection[],
  options: { scale?: number; columns?: number; title?: string } = {},
): Promise<string> {
  const scale = options.scale ?? 2,
    columns = options.columns ?? 8;
  const side = FACE_SIZE * scale;
  const longest = Math.max(0, ...sections.flatMap((s) => s.items.map((it) => it.caption.length)));
  const cw = Math.max(side + 8, Math.ceil(longest * 5.6) + 6),
    ch = side + 18;
  let y = options.title ? 26 : 4;
  let out = options.title ? `<text x="4" y="16" font-weight="bold" font-size="12">${esc(options.title)}</text>` : '';
  for (const s of sections) {
    if (s.title) {
      out += `<text x="4" y="${y + 13}" font-weight="bold" font-size="12">${esc(s.title)}</text>`;
      y += 18;
    }
    if (s.items.length === 0) {
      out += `<text x="4" y="${y + 12}" fill="#666">(none)</text>`;
      y += 18;
      continue;
    }
    const pngs = await Promise.all(s.items.map((it) => facePng(it.face, scale)));
    s.items.forEach((it, i) => {
      const x = (i % columns) * cw + 4,
        top = y + Math.floor(i / columns) * ch;
      out +=
        `<image x="${x + (cw - side) / 2}" y="${top}" width="${side}" height="${side}" href="data:image/png;base64,${pngs[i].toString('base64')}"/>` +
        `<text x="${x + cw / 2}" y="${top + side + 12}" text-anchor="middle">${esc(it.caption)}</text>`;
    });
    y += Math.ceil(s.items.length / columns) * ch + 4;
  }
  const width = Math.min(columns, Math.max(1, ...sections.map((s) => s.items.length))) * cw + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 4}" font-family="sans-serif" font-size="10">${out}</svg>`;
}

/** Several SVG figures next to each other, as one SVG. */
export function sideBySideSvg(svgs: string[], gap = 12): string {
  const size = (svg: string) => {
    const w = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]),
      h = Number(/<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
    if (!(w > 0 && h > 0)) throw new Error('sideBySideSvg needs SVGs with a width and a height');
    return { w, h };
  };
  let x = 0,
    height = 0,
    out = '';
  for (const svg of svgs) {
    const { w, h } = size(svg);
    out += svg.replace(/^<svg/, `<svg x="${x}" y="0"`);
    x += w + gap;
    height = Math.max(height, h);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(1, x - gap)}" height="${height}">${out}</svg>`;
}

/**
 * An SVG figure as a PNG (sharp's librsvg) on white, so a saved notebook holds
 * images every viewer shows. A 64-colour palette keeps the files small.
 */
export async function svgPng(svg: string, options: { scale?: number } = {}): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * (options.scale ?? 1) })
    .flatten({ background: '#ffffff' })
    .png({ palette: true, colours: 64, compressionLevel: 9, effort: 10 })
    .toBuffer();
}

/**
 * Reliability diagram: per confidence bin, the share of right answers against
 * the mean confidence, one colour per model; the diagonal is perfect calibration.
 */
export function reliabilitySvg(series: Array<{ name: string; bins: ReliabilityBin[]; ece?: number }>, title = ''): string {
  const S = 240,
    l = 44,
    t = title ? 28 : 10,
    b = 40;
  const px = (v: number) => l + v * S,
    py = (v: number) => t + (1 - v) * S;
  let out = '';
  for (let k = 0; k <= 5; k++) {
    const v = k / 5;
    out +=
      `<line x1="${l}" x2="${l + S}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/><text x="${l - 4}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>` +
      `<text x="${px(v)}" y="${t + S + 14}" text-anchor="middle">${v.toFixed(1)}</text>`;
  }
  out +=
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#888" stroke-dasharray="4 4"/>` +
    `<text x="${l + S / 2}" y="${t + S + 28}" text-anchor="middle" fill="#555">confidence (top score)</text>` +
    `<text transform="translate(12 ${t + S / 2}) rotate(-90)" text-anchor="middle" fill="#555">accuracy</text>`;
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const used = s.bins.filter((bin) => bin.count > 0);
    out += `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${used.map((bin) => `${px(bin.confidence).toFixed(1)},${py(bin.accuracy).toFixed(1)}`).join(' ')}"/>`;
    for (const bin of used)
      out += `<circle cx="${px(bin.confidence).toFixed(1)}" cy="${py(bin.accuracy).toFixed(1)}" r="${Math.min(7, 2 + Math.sqrt(bin.count) / 6).toFixed(1)}" fill="${colour}" fill-opacity="0.6"/>`;
    out += `<text x="${l + S + 12}" y="${t + 14 + i * 16}" fill="${colour}">${esc(s.name)}${s.ece === undefined ? '' : ` (ECE ${s.ece.toFixed(3)})`}</text>`;
  });
  const head = title ? `<text x="4" y="16" font-weight="bold">${esc(title)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${l + S + 230}" height="${t + S + b}" font-family="sans-serif" font-size="11">${head}${out}</svg>`;
}

/** A plain HTML table from rows of cells (the first row is the header). */
export function tableHtml(rows: Array<Array<string | number>>): string {
  const [head, ...body] = rows;
  const cell = (tag: string, v: string | number) =>
    `<${tag} style="padding:2px 8px;text-align:${typeof v === 'number' ? 'right' : 'left'}">${esc(String(v))}</${tag}>`;
  return (
    `<table style="border-collapse:collapse;font-size:12px"><tr>${head.map((v) => cell('th', v)).join('')}</tr>` +
    body.map((r) => `<tr>${r.map((v) => cell('td', v)).join('')}</tr>`).join('') +
    '</table>'
  );
}
