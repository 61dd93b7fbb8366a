/**
 * models/comparison.json -> plain data for views/compare.eta: formatted
 * figures, the best figure per column, heatmap cells with their shade class,
 * the most-confused pairs as sentences, and the curves' data for
 * static/compare.js. The template only prints and loops.
 */
import { z } from 'zod';
import { lrChanges, mostConfused, rowNormalise, type HistoryChange } from '../../compare/analysis.js';
import { formatP } from '../../compare/mcnemar.js';
import type { Comparison, ModelResult } from '../../compare/types.js';
import { LABELS, type Label } from '../../types.js';
import { labelNames, type Translate } from '../i18n/index.js';
import { translateComparisonText } from './compare-text.js';
import { inlineMarkdown } from './inline-markdown.js';
import { uiLocals } from '../http/request-context.js';

const classMetrics = z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() });
const modelSchema = z.discriminatedUnion('available', [
  z
    .object({
      available: z.literal(true),
      id: z.string(),
      kind: z.enum(['ours', 'peer']),
      accuracy: z.number(),
      macro_f1: z.number(),
      per_class: z.record(z.string(), classMetrics),
      confusion: z.array(z.array(z.number())).length(LABELS.length),
      params: z.number(),
      size_bytes: z.number(),
      latency: z.object({ median_ms: z.number(), runs: z.number() }).loose(),
      notes: z.array(z.string()),
    })
    .loose(),
  z.object({ available: z.literal(false), id: z.string(), kind: z.enum(['ours', 'peer']), reason: z.string() }).loose(),
]);
const comparisonSchema = z
  .object({
    version: z.literal(1),
    created: z.string(),
    data: z.object({ name: z.string(), usage: z.string(), n: z.number(), description: z.string() }).loose(),
    environment: z.object({ backend: z.string(), tfjs: z.string(), cpu: z.string() }).loose(),
    models: z.array(modelSchema),
    mcnemar: z.array(z.object({ a: z.string(), b: z.string(), p_value: z.number(), summary: z.string() }).loose()),
  })
  .loose();

/** Parses comparison.json; throws a message that says what is wrong. */
export function parseComparison(text: string): Comparison {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = comparisonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return parsed.data as unknown as Comparison;
}

export interface Cell {
  text: string;
  best: boolean;
}
export interface TableRow {
  id: string;
  kind: string;
  source: string;
  cells: Cell[];
}
export interface HeatCell {
  count: number;
  percent: string;
  shade: string;
  diagonal: boolean;
  title: string;
}
export interface Heatmap {
  id: string;
  kind: string;
  rows: Array<{ label: string; support: number; cells: HeatCell[] }>;
  confused: string[];
  classes: Array<{ label: string; precision: string; recall: string; f1: string; support: number }>;
  notes: Array<{ html: string; english: boolean }>;
  preprocessing: string;
  mapping: string | null;
}
export interface F1Group {
  label: string;
  bars: Array<{ id: string; value: string; text: string; best: boolean }>;
}
export interface CurveView {
  id: string;
  chartId: string;
  series: string;
  lrChanges: string[];
  epochs: number;
}
export interface McNemarView {
  a: string;
  b: string;
  bothCorrect: number;
  aOnly: number;
  bOnly: number;
  bothWrong: number;
  method: string;
  p: string;
  significant: boolean;
  summary: string;
}

export interface CalibrationRow {
  id: string;
  kind: string;
  eceBefore: string;
  eceAfter: string | null;
  temperature: string | null;
  fittedOn: string | null;
  /** The temperature was fitted on the very rows of this comparison (the "after" figure is then in-sample). */
  sameRows: boolean;
}
export interface ReliabilityChart {
  id: string;
  chartId: string;
  series: string;
  calibrated: boolean;
}

export interface CompareView {
  dataStatement: string;
  usage: string;
  created: string;
  environment: string;
  latencyNote: string;
  classCounts: Array<{ label: string; count: number; percent: string }>;
  columns: string[];
  rows: TableRow[];
  unavailable: Array<{ id: string; kind: string; source: string; reason: string }>;
  f1Columns: string[];
  f1Rows: TableRow[];
  f1Groups: F1Group[];
  heatmaps: Heatmap[];
  mcnemar: McNemarView[];
  curves: CurveView[];
  calibration: CalibrationRow[];
  reliability: ReliabilityChart[];
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;

/** Marks the best value(s) of a column, highest or lowest; none when all are equal (nothing stands out). */
function bestFlags(values: number[], higherIsBetter: boolean): boolean[] {
  if (values.length < 2 || values.every((v) => v === values[0])) return values.map(() => false);
  const best = higherIsBetter ? Math.max(...values) : Math.min(...values);
  return values.map((v) => v === best);
}

function formatBytes(b: number): string {
  return b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MB` : `${(b / 1024).toFixed(0)} KB`;
}

function formatCount(n: number): string {
  return n.toLocaleString(uiLocals().lang === 'id' ? 'id-ID' : 'en-GB');
}

function heatmap(m: ModelResult): Heatmap {
  const { t } = uiLocals();
  const names = labelNames(t);
  const name = (k: number) => names[LABELS[k]];
  const labelName = (l: string) => names[l as Label] ?? l;
  const rates = rowNormalise(m.confusion);
  return {
    id: m.id,
    kind: m.kind,
    rows: m.confusion.map((row, truth) => ({
      label: LABELS[truth],
      support: row.reduce((a, b) => a + b, 0),
      cells: row.map((count, p) => ({
        count,
        percent: pct(rates[truth][p], 0),
        // Eleven shades by row share: classes, not inline styles (a strict CSP is coming).
        shade: `heat-${Math.round(rates[truth][p] * 10)}`,
        diagonal: truth === p,
        title: t('compare.cellTitle', { truth: name(truth), predicted: name(p), count, percent: pct(rates[truth][p]) }),
      })),
    })),
    confused: mostConfused(m.confusion, 3).map((c) =>
      t('compare.confusedPair', {
        truth: labelName(c.truth),
        predicted: labelName(c.predicted),
        percent: pct(c.rate),
        count: c.count,
        support: c.support,
      }),
    ),
    classes: LABELS.map((l) => {
      const c = m.per_class[l];
      return { label: l, precision: c.precision.toFixed(3), recall: c.recall.toFixed(3), f1: c.f1.toFixed(3), support: c.support };
    }),
    notes: m.notes.map((n) => {
      const text = translateComparisonText(n, t);
      // A note no phrase matched (a card's own, written by hand) stays English: say so to screen readers.
      return { html: inlineMarkdown(text), english: uiLocals().lang !== 'en' && text === n };
    }),
    preprocessing: translateComparisonText(m.preprocessing, t),
    mapping: m.label_mapping
      ? Object.entries(m.label_mapping)
          .map(([own, fer]) => (own === fer ? own : `${own} → ${fer}`))
          .join(', ')
      : null,
  };
}

function changeText(c: HistoryChange, t: Translate): string {
  const parts: string[] = [];
  if (c.phase !== undefined) parts.push(t('compare.changePhase', { phase: c.phase }));
  if (c.lr !== undefined && c.prevLr !== undefined) parts.push(`lr ${c.prevLr.toExponential(1)} → ${c.lr.toExponential(1)}`);
  return t('compare.changeAt', { epoch: c.epoch, change: parts.join(', ') });
}

function curve(m: ModelResult, i: number): CurveView | null {
  const h = m.history ?? [];
  if (h.length === 0) return null;
  const changes = lrChanges(h);
  return {
    id: m.id,
    chartId: `curves-${i}`,
    // Read by static/compare.js from a data attribute (escaped by eta), so no inline script.
    series: JSON.stringify({
      epoch: h.map((e) => e.epoch),
      loss: h.map((e) => e.loss),
      val_loss: h.map((e) => e.val_loss),
      acc: h.map((e) => e.acc),
      val_acc: h.map((e) => e.val_acc),
      lr: h.map((e) => e.lr),
      changes,
    }),
    lrChanges: changes.map((c) => changeText(c, uiLocals().t)),
    epochs: h.length,
  };
}

function calibrationRow(m: ModelResult, usage: string): CalibrationRow | null {
  const k = m.calibration;
  if (!k) return null;
  return {
    id: m.id,
    kind: m.kind,
    eceBefore: k.ece_before.toFixed(3),
    eceAfter: k.ece_after === null ? null : k.ece_after.toFixed(3),
    temperature: k.temperature === null ? null : k.temperature.toFixed(2),
    fittedOn: k.fitted_on === null ? null : translateComparisonText(k.fitted_on, uiLocals().t),
    sameRows: k.fitted_on !== null && k.fitted_on.includes(usage),
  };
}

function reliabilityChart(m: ModelResult, i: number): ReliabilityChart | null {
  const k = m.calibration;
  if (!k) return null;
  // Bin centres on x; share right per bin on y (null where a bin is empty: uPlot leaves a gap).
  const mid = k.bins_before.map((b) => Math.round(((b.lo + b.hi) / 2) * 1000) / 1000);
  return {
    id: m.id,
    chartId: `reliability-${i}`,
    calibrated: k.bins_after !== null,
    series: JSON.stringify({
      x: mid,
      before: k.bins_before.map((b) => b.accuracy),
      after: k.bins_after ? k.bins_after.map((b) => b.accuracy) : null,
      countBefore: k.bins_before.map((b) => b.count),
      countAfter: k.bins_after ? k.bins_after.map((b) => b.count) : null,
    }),
  };
}

/** The test's result in words, from its figures (comparison.json's own summary is English). */
function mcnemarSummary(m: Comparison['mcnemar'][number], t: Translate): string {
  const how = m.method === 'exact-binomial' ? t('compare.howExact') : t('compare.howChi', { statistic: m.statistic?.toFixed(2) ?? '' });
  const verdict =
    m.significant && m.better
      ? t('compare.verdictBetter', { better: m.better, alpha: m.alpha })
      : t('compare.verdictNone', { alpha: m.alpha });
  return t('compare.mcnemarSummary', { a: m.a, b: m.b, aOnly: m.a_only, bOnly: m.b_only, p: formatP(m.p_value), how, verdict });
}

export function toCompareView(c: Comparison): CompareView {
  const { t } = uiLocals();
  const ok = c.models.filter((m): m is ModelResult => m.available);
  const columns = [
    t('compare.colAccuracy'),
    t('compare.colMacroF1'),
    t('compare.colParams'),
    t('compare.colSize'),
    t('compare.colLatency'),
  ];
  const values: Array<[number[], boolean]> = [
    [ok.map((m) => m.accuracy), true],
    [ok.map((m) => m.macro_f1), true],
    [ok.map((m) => m.params), false],
    [ok.map((m) => m.size_bytes), false],
    [ok.map((m) => m.latency.median_ms), false],
  ];
  const flags = values.map(([v, hi]) => bestFlags(v, hi));
  const rows: TableRow[] = ok.map((m, r) => ({
    id: m.id,
    kind: m.kind,
    source: m.source,
    cells: [
      { text: pct(m.accuracy), best: flags[0][r] },
      { text: m.macro_f1.toFixed(3), best: flags[1][r] },
      { text: formatCount(m.params), best: flags[2][r] },
      { text: formatBytes(m.size_bytes), best: flags[3][r] },
      { text: `${m.latency.median_ms.toFixed(1)} ms`, best: flags[4][r] },
    ],
  }));
  const f1Flags = LABELS.map((l) =>
    bestFlags(
      ok.map((m) => m.per_class[l].f1),
      true,
    ),
  );
  const f1Rows: TableRow[] = ok.map((m, r) => ({
    id: m.id,
    kind: m.kind,
    source: m.source,
    cells: LABELS.map((l, k) => ({ text: m.per_class[l].f1.toFixed(3), best: f1Flags[k][r] })),
  }));
  const runs = ok[0]?.latency.runs ?? 0;
  const total = c.data.n || 1;
  return {
    dataStatement: t('compare.rowsStatement', {
      description: t('compare.dataDescription', { name: c.data.name, usage: c.data.usage, n: c.data.n }),
    }),
    usage: c.data.usage,
    created: c.created.slice(0, 10),
    environment: t('compare.environment', { tfjs: c.environment.tfjs, backend: c.environment.backend, cpu: c.environment.cpu }),
    latencyNote: t('compare.latencyNote', { runs }),
    classCounts: LABELS.map((l) => ({
      label: l,
      count: c.data.class_counts?.[l] ?? 0,
      percent: pct((c.data.class_counts?.[l] ?? 0) / total),
    })),
    columns,
    rows,
    unavailable: c.models
      .filter((m) => !m.available)
      .map((m) => ({ id: m.id, kind: m.kind, source: m.source, reason: (m as { reason: string }).reason })),
    f1Columns: LABELS.map((l) => t(`label.${l}`)),
    f1Rows,
    f1Groups: LABELS.map((l, k) => ({
      label: l,
      bars: ok.map((m, r) => ({ id: m.id, value: m.per_class[l].f1.toFixed(4), text: m.per_class[l].f1.toFixed(2), best: f1Flags[k][r] })),
    })),
    heatmaps: ok.map(heatmap),
    mcnemar: c.mcnemar.map((m) => ({
      a: m.a,
      b: m.b,
      bothCorrect: m.both_correct,
      aOnly: m.a_only,
      bOnly: m.b_only,
      bothWrong: m.both_wrong,
      method:
        m.method === 'exact-binomial' ? t('compare.methodExact') : t('compare.methodChi', { statistic: m.statistic?.toFixed(2) ?? '' }),
      p: formatP(m.p_value),
      significant: m.significant,
      summary: mcnemarSummary(m, t),
    })),
    curves: ok.map((m, i) => curve(m, i)).filter((x): x is CurveView => x !== null),
    calibration: ok.map((m) => calibrationRow(m, c.data.usage)).filter((x): x is CalibrationRow => x !== null),
    reliability: ok.map((m, i) => reliabilityChart(m, i)).filter((x): x is ReliabilityChart => x !== null),
  };
}
