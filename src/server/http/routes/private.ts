/**
 * Private mode: what a browser needs to run the face pipeline itself, so
 * camera frames never leave the device (static/private/). TF.js and its
 * wasm backend come from the installed npm packages, the BlazeFace weights
 * from @vladmandic/human (as on the server), the expression models are the
 * very files in models/ the server loaded. Nothing here runs a model.
 *
 *   GET /private/manifest.json        models, their input specs, the file URLs (ensembles: their members)
 *   GET /private/models/:id/:file     model.json and the weight files it names
 *   GET /private/detector/:file       blazeface.json + .bin
 *   GET /private/fused-model.js       the inference compiler (src/inference/fused-model.ts with its types stripped)
 *   GET /vendor/tfjs/:file            tf.min.js, tf-backend-wasm.min.js, *.wasm
 */
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { transformSync } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedModel, ModelRegistry } from '../../../inference/registry.js';
import { temperatureOf } from '../../../inference/calibration.js';
import { BLAZEFACE_PACKAGE } from '../../../inference/detect/blazeface.js';
import { packageDir } from '../../../inference/detect/package-dir.js';
import { packageFile } from '../../paths.js';

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
const COMPILER_SOURCE = fileURLToPath(new URL('../../../inference/fused-model.ts', import.meta.url));
let compilerScript: string | null = null;

/** The browser's copy of the inference compiler: the server's own source, types stripped (it imports nothing). */
function compilerJs(): string {
  compilerScript ??= transformSync(fs.readFileSync(COMPILER_SOURCE, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2020' }).code;
  return compilerScript;
}
const CACHE = 'public, max-age=600';

export interface PrivateRouteDeps {
  registry: ModelRegistry;
  base: string;
  /** Most faces per frame, as on the server. */
  maxFaces: number;
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
    tta: m.card.tta === 'flip',
    temperature: temperatureOf(m.card),
    outputsProbabilities: m.outputsProbabilities,
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
      compiler: `${base}/private/fused-model.js`,
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

  app.get('/private/fused-model.js', cache, (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    return c.body(compilerJs());
  });

  app.get('/vendor/tfjs/:file', cache, async (c, next) => {
    const entry = TFJS_FILES[c.req.param('file')];
    const full = entry ? packageFile(entry[0], entry[1]) : null;
    if (!full) return c.notFound();
    return serveStatic({ path: full })(c, next);
  });
  return app;
}
