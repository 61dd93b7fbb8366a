/**
 * The number tags on the photo and over each face: their text against their
 * expression colour reaches 4.5:1 (WCAG AA for normal text), computed from
 * the values in static/style.css as the browser would resolve them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { LABELS } from '../../src/types.js';

const CSS = fs.readFileSync(path.join(PROJECT_ROOT, 'static', 'style.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

/** The last value of `property` among rules whose selector list has exactly `selector` (later rules win, as in the cascade). */
function declared(selector: string, property: string): string | undefined {
  let value: string | undefined;
  for (const m of CSS.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    if (
      !m[1]
        .split(',')
        .map((s) => s.trim())
        .includes(selector)
    )
      continue;
    for (const d of m[2].split(';')) {
      const [k, ...v] = d.split(':');
      if (k.trim() === property) value = v.join(':').trim();
    }
  }
  return value;
}

/** A colour with var() resolved against :root. */
function resolve(value: string | undefined): string {
  assert.ok(value, 'a value is declared');
  const v = /^var\((--[\w-]+)\)$/.exec(value);
  return v ? resolve(declared(':root', v[1])) : value;
}

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex);
  assert.ok(m, `${hex} is a hex colour`);
  const full = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const [r, g, b] = [0, 2, 4]
    .map((i) => parseInt(full.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test('the contrast formula gives the known figures', () => {
  assert.equal(Math.round(contrast('#ffffff', '#000000') * 10) / 10, 21);
  assert.equal(Math.round(contrast('#777777', '#ffffff') * 100) / 100, 4.48);
});

test('every number tag reaches 4.5:1, on the photo and over the face', () => {
  const low: string[] = [];
  for (const l of LABELS) {
    const pairs: Array<[string, string, string]> = [
      [
        'photo tag',
        resolve(declared(`.face-tag.expr-${l}`, 'fill')),
        resolve(declared(`.face-tag-text.expr-${l}`, 'fill') ?? declared('.face-tag-text', 'fill')),
      ],
      [
        'face number',
        resolve(declared(`.face-number.expr-${l}`, 'background')),
        resolve(declared(`.face-number.expr-${l}`, 'color') ?? declared('.face-number', 'color')),
      ],
    ];
    for (const [where, bg, fg] of pairs) {
      const ratio = contrast(bg, fg);
      if (ratio < 4.5) low.push(`${l} ${where}: ${fg} on ${bg} is ${ratio.toFixed(2)}:1`);
    }
  }
  assert.deepEqual(low, []);
});
