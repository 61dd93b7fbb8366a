/**
 * Private mode's face pipeline as one browser script: src/inference/browser/pipeline.ts
 * and the server modules it imports, bundled by esbuild (served by routes/private.ts).
 * Two rules make it the server's own code yet safe in a browser: every import of
 * tf/backend.js becomes tf/page-tf.ts (the page's TF.js), and any other import of a
 * package or a Node built-in (sharp, node:fs, @tensorflow/tfjs itself, ...) or of a file
 * outside src/ fails the build, naming the importer. So a shared module that starts to
 * need the server is caught when the bundle is built, not in a visitor's browser.
 */
import { build, type Plugin } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.dirname(SRC);
export const PIPELINE_ENTRY = path.join(SRC, 'inference', 'browser', 'pipeline.ts');
const BACKEND = path.join(SRC, 'tf', 'backend.js');
const PAGE_TF = path.join(SRC, 'tf', 'page-tf.ts');

export interface PipelineBundle {
  /** The ES module (its exports: browser/pipeline.ts's). */
  code: string;
  /** The source files in it, relative to the project root. */
  inputs: string[];
}

const rel = (file: string) => path.relative(ROOT, file);

/** The two rules above, as an esbuild plugin. */
const browserSafe: Plugin = {
  name: 'browser-safe',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const relative = args.path.startsWith('./') || args.path.startsWith('../');
      const full = relative ? path.resolve(args.resolveDir, args.path) : null;
      if (full === BACKEND) return { path: PAGE_TF };
      if (full && full.startsWith(SRC + path.sep)) return undefined;
      return {
        errors: [
          {
            text: `${args.path} (imported by ${rel(args.importer)}) cannot be in the browser bundle: it may import only the project's own modules under src/`,
          },
        ],
      };
    });
  },
};

/** Builds the bundle; rejects with every build error in its message. */
export async function buildPipelineBundle(entry = PIPELINE_ENTRY): Promise<PipelineBundle> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      charset: 'utf8',
      metafile: true,
      logLevel: 'silent',
      plugins: [browserSafe],
    });
    return { code: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs).map((f) => rel(path.resolve(f))) };
  } catch (e) {
    const errors = (e as { errors?: Array<{ text: string }> }).errors;
    throw new Error(
      `Private mode's pipeline could not be built: ${errors?.length ? errors.map((x) => x.text).join('; ') : (e as Error).message}`,
      { cause: e },
    );
  }
}
