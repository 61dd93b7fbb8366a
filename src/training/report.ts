/** Human-readable evaluation report for the terminal. */
import { LABELS } from '../types.js';
import type { EvalReport } from '../artifacts/card.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatReport(r: EvalReport, note = ''): string {
  const lines = [
    `${r.model} on ${r.usage} (${r.n} faces)${note ? `, ${note}` : ''}`,
    `accuracy ${pct(r.accuracy)}   macro-F1 ${r.macro_f1.toFixed(3)}`,
    '',
    'class       precision  recall     f1  support',
    ...LABELS.map((l) => {
      const c = r.per_class[l];
      return `${l.padEnd(10)} ${c.precision.toFixed(3).padStart(9)} ${c.recall.toFixed(3).padStart(7)} ${c.f1.toFixed(3).padStart(6)} ${String(c.support).padStart(8)}`;
    }),
    '',
    'confusion (rows = true, columns = predicted)',
    `${''.padEnd(10)}${LABELS.map((l) => l.slice(0, 7).padStart(8)).join('')}`,
    ...r.confusion.map((row, i) => `${LABELS[i].padEnd(10)}${row.map((v) => String(v).padStart(8)).join('')}`),
  ];
  return lines.join('\n');
}
