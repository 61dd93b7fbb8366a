/**
 * The demo page: GET / and the form's POST /predict. htmx requests get the
 * result partial; a plain form POST (no JavaScript) gets the whole page with
 * the result in place.
 */
import { Hono, type Context } from 'hono';
import path from 'node:path';
import { analyseImage } from '../../../inference/pipeline.js';
import { analyseWithEveryModel } from '../../../inference/side-by-side.js';
import type { AppDeps } from '../../deps.js';
import { EXAMPLES_CREDIT } from '../../present/examples.js';
import { HttpError, isHtmx } from '../errors.js';
import { withFlagTokens } from '../../flagging/index.js';
import { requestChoices } from '../analysis-options.js';
import { pickModel } from '../pick-model.js';
import { redactDeep } from '../../present/redact.js';
import { uiLocals } from '../request-context.js';
import { noFileError, readUpload } from '../upload.js';
import { modelOptions, toResultView } from '../../present/view-models.js';
import { toSideBySideView } from '../../present/side-by-side-view.js';

export function pageRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { registry, views, examples } = deps;

  app.get('/', (c) => c.html(renderPage(deps)));

  // Reloading the page after a no-JavaScript post (or following its URL) asks for GET /predict: back to the form.
  app.get('/predict', (c) => {
    const query = new URL(c.req.url).search;
    return c.redirect(`${uiLocals().base}/${query}`, 303);
  });

  app.post('/predict', async (c: Context) => {
    const { bytes, fields } = await readUpload(c, false);
    const entry = pickModel(registry, fields.model);
    let photo: Uint8Array;
    if (fields.example) {
      // The example button was the submitter: it wins over a file still in the picker.
      if (!examples.get(fields.example)) throw new HttpError(400, 'err.unknownExample', { id: fields.example });
      photo = await examples.read(fields.example);
    } else {
      if (!bytes) throw noFileError(false);
      photo = bytes;
    }
    // The options fieldset: whole image, explain, view averaging (TTA).
    const choices = requestChoices(c, fields, deps.decode);
    const options = { ...deps.decode, ...choices };
    const context = { example: fields.example, model: entry.id, explain: choices.explain, tta: choices.tta };
    // Side by side (the checkbox, or ?all=1): every loaded model on the same faces.
    const html =
      (fields.all ?? c.req.query('all')) === '1'
        ? views.resultAll(
            await toSideBySideView(
              await analyseWithEveryModel(photo, registry.models, options),
              deps.flagging?.signer.sign.bind(deps.flagging.signer),
            ),
          )
        : views.result(
            await withFlagTokens(deps.flagging, await analyseImage(photo, entry, options), (a) =>
              toResultView(a, entry.card.name, context),
            ),
          );
    return c.html(isHtmx(c) ? html : renderPage(deps, html, entry.id));
  });

  return app;
}

/**
 * The full page, optionally with a rendered result or error partial in place;
 * the no-models page while there is nothing to serve.
 */
export function renderPage(deps: AppDeps, resultHtml?: string, selectedModel?: string | null): string {
  const { registry, views } = deps;
  if (registry.models.length === 0) {
    // The folder by its name only, and reasons without local paths: this page is public.
    return views.noModels({ modelsDir: `${path.basename(deps.modelsDir)}/`, skipped: redactDeep(registry.skipped) });
  }
  return views.index({
    models: modelOptions(registry, selectedModel),
    examples: deps.examples.list,
    examplesCredit: EXAMPLES_CREDIT,
    maxUploadMb: String(Math.round((deps.maxUploadBytes / 1024 / 1024) * 10) / 10),
    maxUploadBytes: deps.maxUploadBytes,
    resultHtml,
  });
}
