/**
 * Stands in for the `tslab` module when the notebook check runs notebook
 * cells headless: the display calls are recorded, and `flush()` writes them
 * as one HTML page (so a failing or odd notebook can be looked at).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Output { type: string; data: string }
export const outputs: Output[] = [];

const text = (type: string) => (s: string) => { outputs.push({ type, data: s }); };
const binary = (type: string) => (b: Uint8Array) => { outputs.push({ type, data: Buffer.from(b).toString('base64') }); };

export const display = {
  javascript: text('javascript'), html: text('html'), markdown: text('markdown'), latex: text('latex'), svg: text('svg'),
  png: binary('png'), jpeg: binary('jpeg'), gif: binary('gif'), pdf: binary('pdf'), text: text('text'),
  raw: (contentType: string, b: string | Uint8Array) => { outputs.push({ type: contentType, data: typeof b === 'string' ? b : Buffer.from(b).toString('base64') }); },
};
export function newDisplay(): typeof display { return display; }
export const versions = { tslab: 'shim', typescript: 'tsx', node: process.version };

/** Writes the recorded outputs to $TSLAB_SHIM_OUT (HTML) and returns how many there were. */
export function flush(): number {
  const file = process.env.TSLAB_SHIM_OUT;
  if (file) {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const body = outputs.map((o) => {
      if (o.type === 'html' || o.type === 'svg') return o.data;
      if (o.type === 'png' || o.type === 'jpeg' || o.type === 'gif') return `<img src="data:image/${o.type};base64,${o.data}">`;
      return `<pre>${esc(o.data)}</pre>`;
    }).join('\n<hr>\n');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `<!doctype html><meta charset="utf-8"><body>${body}</body>`);
  }
  return outputs.length;
}
