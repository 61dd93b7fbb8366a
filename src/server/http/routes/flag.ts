/**
 * Flagging: POST /flag (the "Wrong? Flag it" form on each face), the review
 * page GET /flagged with its crops, removal, and the FER2013 CSV download
 * GET /flagged/export.csv. The whole server is behind --auth when it is set,
 * so /flagged and the export are too.
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import fsp from 'node:fs/promises';
import { z } from 'zod';
import { LABELS } from '../../../types.js';
import { HttpError, isHtmx } from '../errors.js';
import { csvLines } from '../../flagging/export.js';
import type { Flagging } from '../../flagging/index.js';
import { MAX_NOTE_LENGTH, type FlagRecord } from '../../flagging/store.js';
import { uiLocals } from '../request-context.js';
import type { FlaggedRowView, Views } from '../../present/views.js';

export interface FlagRouteDeps {
  flagging: Flagging | null;
  views: Views;
  base: string;
  log: (msg: string) => void;
}

const PAGE_SIZE = 50;

const flagForm = z.object({
  token: z.string().min(1).max(20_000),
  label: z.enum(LABELS),
  note: z.string().max(MAX_NOTE_LENGTH).optional().default(''),
});

function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

export function flagRoutes(deps: FlagRouteDeps): Hono {
  const app = new Hono();
  const { flagging, views, base } = deps;

  app.post('/flag', async (c) => {
    const { t } = uiLocals();
    if (!flagging) throw new HttpError(404, t('flag.off'));
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody();
    } catch {
      throw new HttpError(400, t('flag.invalid'));
    }
    const parsed = flagForm.safeParse(body);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path[0];
      if (field === 'label') throw new HttpError(400, t('flag.badLabel'));
      if (field === 'note') throw new HttpError(400, t('flag.noteTooLong', { max: MAX_NOTE_LENGTH }));
      throw new HttpError(400, t('flag.invalid'));
    }
    const { token } = parsed.data;
    const checked = flagging.signer.redeem(token);
    if (!checked.ok && checked.reason === 'used') throw new HttpError(409, t('flag.used'));
    if (!checked.ok) throw new HttpError(400, t(checked.reason === 'expired' ? 'flag.expired' : 'flag.invalid'));
    const { model, scores, face } = checked.subject;
    let saved: FlagRecord;
    try {
      saved = await flagging.store.add({ model, scores, face, label: parsed.data.label, note: parsed.data.note.trim() });
    } catch (e) {
      flagging.signer.release(token);
      throw e;
    }
    deps.log(`flag ${saved.id}: ${saved.predicted} -> ${saved.label} (${model})`);
    return c.html(views.flagDone({ label: saved.label, page: !isHtmx(c) }));
  });

  app.get('/flagged', (c) => {
    const { t } = uiLocals();
    c.header('Cache-Control', 'no-store');
    if (!flagging) {
      return c.html(views.flagged({ enabled: false, total: 0, rows: [], counts: [], newerHref: null, olderHref: null }));
    }
    const total = flagging.store.count();
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const page = Math.min(pages, Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1));
    const counts = flagging.store.countsByLabel();
    const removed = c.req.query('removed');
    return c.html(
      views.flagged({
        enabled: true,
        total,
        rows: flagging.store.list(PAGE_SIZE, (page - 1) * PAGE_SIZE).map((r) => rowView(r, base)),
        counts: LABELS.map((label) => ({ label, n: counts[label] })),
        newerHref: page > 1 ? `${base}/flagged?page=${page - 1}` : null,
        olderHref: page < pages ? `${base}/flagged?page=${page + 1}` : null,
        message: removed ? t('flagged.removed') : undefined,
      }),
    );
  });

  app.get('/flagged/crops/:name', async (c) => {
    const file = flagging?.store.cropPath(c.req.param('name'));
    if (!file) return c.notFound();
    let png: Buffer;
    try {
      png = await fsp.readFile(file);
    } catch {
      return c.notFound();
    }
    return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': 'private, max-age=3600' });
  });

  app.get('/flagged/export.csv', (c) => {
    if (!flagging) throw new HttpError(404, uiLocals().t('flag.off'));
    const day = new Date().toISOString().slice(0, 10);
    c.header('Content-Type', 'text/csv; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="flagged-${day}.csv"`);
    c.header('Cache-Control', 'no-store');
    const skipped: string[] = [];
    return stream(c, async (s) => {
      for await (const line of csvLines(flagging.store, 'Training', skipped)) await s.write(line);
      for (const m of skipped) deps.log(`export: skipped ${m}`);
    });
  });

  app.post('/flagged/:id/delete', async (c) => {
    const { t } = uiLocals();
    if (!flagging) throw new HttpError(404, t('flag.off'));
    // Digits only: Number() would also take "0x10", "1e1" and " 3".
    const raw = c.req.param('id');
    const id = /^[1-9]\d{0,14}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(id) || !(await flagging.store.remove(id)))
      throw new HttpError(404, t('flagged.notFound', { id: raw.slice(0, 40) }));
    deps.log(`flag ${id}: removed`);
    return c.redirect(`${base}/flagged?removed=${id}`, 303);
  });

  return app;
}

function rowView(r: FlagRecord, base: string): FlaggedRowView {
  return {
    ...r,
    cropUrl: `${base}/flagged/crops/${r.crop}`,
    predictedPercent: percent(r.scores[r.predicted]),
    createdText: r.created.replace('T', ' ').slice(0, 19) + ' UTC',
  };
}
