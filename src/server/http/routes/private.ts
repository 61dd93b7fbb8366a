/**
 * Private mode: what a browser needs to run the face pipeline itself, so
 * camera frames never leave the device (static/private/). TF.js and its
 * wasm backend come from the installed npm packages, the BlazeFace weights
 * from @vladmandic/human (as on the server), the expression models are the
 * very files in models/ the server loaded. Nothing here runs a model.
 *
 *   GET /private/manifest.json        models, the card fields a prediction reads, the file URLs (ensembles: their members)
 *   GET /private/models/:id/:file     model.json and the weight files it names
 *   GET /private/detector/:file       blazeface.json + .bin
 *   GET /private/pipeline.js          the face pipeline: the server's own modules bundled for the browser (server/private-bundle.ts)
 *   GET /vendor/tfjs/:file            tf.min.js, tf-backend-wasm.min.js, *.wasm
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { etag } from 'hono/etag';
import fs from 'node:fs';
import path from 'node:path';
import type { LoadedModel, ModelRegistry } from '../../../inference/registry.js';
import { BLAZEFACE_PACKAGE } from '../../../inference/detect/blazeface.js';
import { packageDir } from '../../../inference/detect/package-dir.js';
import { packageFile } from '../../paths.js';
import { buildPipelineBundle } from '../../private-bundle.js';

// The ES2017 bundles: the ES5 ones carry a regenerator polyfill that calls Function(),
// which the page's CSP (no eval) refuses.
const TFJS_FILES: Record<string, [pkg: string, file: string]> = {
  'tf.min.js': ['@tensorflow/tfjs', 'dist/tf.es2017.min.js'],
  'tf-backend-wasm.min.js': ['@tensorflow/tfjs-backend-wasm', 'dist/tf-backend-wasm.es2017.min.js'],
  // The threaded build needs cross-origin isolation, which this site does not ask for.
  'tfjs-backend-wasm.wasm': ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm.wasm'],
  'tfjs-backend-wasm-simd.wasm': ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-simd.wasm'],
};
const DETECTOR_FILES = ['blazeface.json', 'blazeface.bin'];
const CACHE = 'public, max-age=600';

export interface PrivateRouteDeps {
  registry: ModelRegistry;
  base: string;
  /** Most faces per frame, as on the server. */
  maxFaces: number;
  /** The bundle's entry module (default: src/inference/browser/pipeline.ts); the tests give a broken one. */
  pipelineEntry?: string;
}

/** The weight files a model.json names (only these are served from its folder). */
function weightFiles(dir: string): Set<string> {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest?: Array<{ paths: string[] }> };
  return new Set((json.weightsManifest ?? []).flatMap((g) => g.paths));
}

function modelInfo(m: LoadedModel, base: string) {
  // An ensemble is run from its members' files (listed as models of their own).
  if (m.kind === 'ensemble') return { id: m.id, members: m.members.map((x) => x.id) };
  return {
    id: m.id,
    url: `${base}/private/models/${encodeURIComponent(m.id)}/model.json`,
    input: m.card.input,
    // What predictFaces reads of a card, so the browser applies TTA and calibration as the server does.
    card: { input: m.card.input, tta: m.card.tta, calibration: m.card.calibration },
  };
}

export function privateRoutes(deps: PrivateRouteDeps): Hono {
  const app = new Hono();
  const { registry, base } = deps;
  const pkg = packageDir(BLAZEFACE_PACKAGE);
  const detectorDir = pkg ? path.join(pkg, 'models') : null;
  const files = new Map(
    registry.models.flatMap((m) => (m.kind === 'network' ? [[m.id, new Set(['model.json', ...weightFiles(m.dir)])] as const] : [])),
  );
  // Built on first request, then kept: the sources do not change while the server runs.
  let pipeline: Promise<string> | null = null;
  const pipelineJs = (): Promise<string> => {
    if (!pipeline) {
      pipeline = buildPipelineBundle(deps.pipelineEntry).then((b) => b.code);
      pipeline.catch(() => {
        pipeline = null; // the next request tries again
      });
    }
    return pipeline;
  };
  const cache = async (c: { res: Response; header(name: string, value: string): void }, next: () => Promise<void>) => {
    await next();
    if (c.res.ok) c.header('Cache-Control', CACHE);
  };

  app.get('/private/manifest.json', (c) => {
    c.header('Cache-Control', 'no-store');
    if (!detectorDir || registry.models.length === 0) {
      return c.json({ error: 'Private mode is not available: the face detector or the models are missing on the server.' }, 404);
    }
    return c.json({
      tf: {
        scripts: [`${base}/vendor/tfjs/tf.min.js`, `${base}/vendor/tfjs/tf-backend-wasm.min.js`],
        wasm: `${base}/vendor/tfjs/`,
      },
      detector: { name: 'blazeface', url: `${base}/private/detector/blazeface.json`, maxFaces: deps.maxFaces },
      pipeline: `${base}/private/pipeline.js`,
      models: registry.models.map((m) => modelInfo(m, base)),
      default: registry.defaultId,
    });
  });

  app.get('/private/models/:id/:file', cache, async (c, next) => {
    const id = c.req.param('id');
    const file = c.req.param('file');
    const model = registry.get(id);
    if (!model || id !== model.id || !files.get(id)?.has(file)) return c.json({ error: `No file ${file} for a model ${id}.` }, 404);
    return serveStatic({ path: path.join(model.dir, file) })(c, next);
  });

  app.get('/private/detector/:file', cache, async (c, next) => {
    const file = c.req.param('file');
    if (!detectorDir || !DETECTOR_FILES.includes(file)) return c.json({ error: `No detector file ${file}.` }, 404);
    return serveStatic({ path: path.join(detectorDir, file) })(c, next);
  });

  app.get('/private/pipeline.js', cache, etag(), async (c) => {
    let code: string;
    try {
      code = await pipelineJs();
    } catch (e) {
      return c.json({ error: (e as Error).message }, 500);
    }
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    return c.body(code);
  });

  app.get('/vendor/tfjs/:file', cache, async (c, next) => {
    const entry = TFJS_FILES[c.req.param('file')];
    const full = entry ? packageFile(entry[0], entry[1]) : null;
    if (!full) return c.notFound();
    return serveStatic({ path: full })(c, next);
  });
  return app;
}
