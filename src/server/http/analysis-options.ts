/**
 * The per-request choices of an analysis, from the query string (API) or the
 * form fields (page): `whole`, `explain`, `tta` and `max_faces`. The server's
 * own settings (maximum faces, detector) are the defaults and the ceiling.
 */
import type { Context } from 'hono';
import type { AnalyseOptions } from '../../inference/pipeline.js';
import { HttpError } from './errors.js';

export type RequestChoices = Pick<AnalyseOptions, 'whole' | 'explain' | 'tta' | 'maxFaces'>;

/** "1", "true", "on" (a ticked checkbox) and "yes" are true; "0", "false", "off", "no" and "" are false. */
function flag(name: string, value: string | undefined): boolean | undefined {
  if (value == null) return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['0', 'false', 'off', 'no', ''].includes(v)) return false;
  throw new HttpError(400, 'err.flag01', { name, value });
}

export function requestChoices(c: Context, fields: Record<string, string>, base: AnalyseOptions): RequestChoices {
  const get = (name: string) => c.req.query(name) ?? fields[name];
  const choices: RequestChoices = {
    whole: flag('whole', get('whole')) ?? false,
    explain: flag('explain', get('explain')) ?? false,
  };
  const tta = flag('tta', get('tta'));
  if (tta !== undefined) choices.tta = tta;
  const ceiling = base.maxFaces ?? Number.POSITIVE_INFINITY;
  const asked = get('max_faces');
  if (asked != null && asked !== '') {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1) throw new HttpError(400, 'err.maxFaces', { value: asked });
    choices.maxFaces = Math.min(n, ceiling);
  }
  return choices;
}
