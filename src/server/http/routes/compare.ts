/**
 * GET /compare: the model comparison, rendered from <models>/comparison.json
 * (written by `npm run compare`). The file is re-read when it changes, so a
 * fresh comparison shows up without restarting the server. Without the file
 * the page says how to produce it.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import type { AppDeps } from '../../deps.js';
import { parseComparison, toCompareView, type CompareView } from '../../present/compare-view.js';
import { redactDeep, redactPaths } from '../../present/redact.js';

export const COMPARISON_FILE = 'comparison.json';

type Loaded = { view: CompareView } | { missing: true } | { problem: string };

export function compareRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const file = path.join(deps.modelsDir, COMPARISON_FILE);
  let cache: { mtimeMs: number; loaded: Loaded } | null = null;

  async function load(): Promise<Loaded> {
    let mtimeMs: number;
    try {
      mtimeMs = (await fsp.stat(file)).mtimeMs;
    } catch {
      return { missing: true };
    }
    if (cache && cache.mtimeMs === mtimeMs) return cache.loaded;
    let loaded: Loaded;
    try {
      // Served without paths of the machine that ran the comparison (redact.ts).
      loaded = { view: toCompareView(redactDeep(parseComparison(await fsp.readFile(file, 'utf8')))) };
    } catch (e) {
      loaded = { problem: redactPaths((e as Error).message) };
      deps.log(`compare: ${file} cannot be shown: ${(e as Error).message}`);
    }
    cache = { mtimeMs, loaded };
    return loaded;
  }

  app.get('/compare', async (c) => {
    const loaded = await load();
    if ('view' in loaded) return c.html(deps.views.compare(loaded.view));
    // The file as the page names it: its folder's name, not where that folder is on this machine.
    const shown = path.join(path.basename(deps.modelsDir), COMPARISON_FILE);
    return c.html(deps.views.compareMissing({ file: shown, problem: 'problem' in loaded ? loaded.problem : null }));
  });

  return app;
}
