/**
 * npm run predict -- IMAGE... [--model NAME] [--models DIR] [--json] [--whole] [--tta | --no-tta]
 * Every face in each photo, its box and its seven probabilities, on the terminal: the same
 * analyseImage as the server (decode -> faces -> scores), so the answers are the demo's.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_MAX_PIXELS } from '../inference/decode.js';
import { DEFAULT_DETECTOR, DETECTORS, type DetectorName } from '../inference/detect/index.js';
import { DEFAULT_MAX_FACES } from '../inference/faces.js';
import { analyseImage, type Analysis } from '../inference/pipeline.js';
import { disposeRegistry, loadRegistry } from '../inference/registry.js';
import { initBackend } from '../tf/backend.js';
import { LABELS } from '../types.js';
import { runCli } from './run.js';

const program = new Command('predict')
  .description("The expression of every face in each photo (the demo's answer, on the terminal).")
  .argument('<images...>', 'photos: JPEG, PNG, WebP, GIF, AVIF or TIFF')
  .option('--model <name>', 'a model folder name in --models (default: the best by its card)')
  .option('--models <dir>', 'folder with one subfolder per model', 'models')
  .option(
    '--json',
    'print ONE JSON object on stdout: {"model", "images": [{"file", "image", "face_source", "faces": [...], "ms"} or {"file", "error"}]}',
  )
  .option('--whole', "no face detection: each photo's centred square is the face (already cropped faces)")
  .option(
    '--tta',
    "average each face over the card's views (flip, or shift's ten), or with its mirror image if the card has none (default: as the model card says)",
  )
  .option('--no-tta', 'no test-time augmentation, whatever the card says')
  .option(
    '--max-faces <n>',
    'most faces per photo',
    (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
      return n;
    },
    DEFAULT_MAX_FACES,
  )
  .addOption(new Option('--detector <name>', 'face detector').choices([...DETECTORS]).default(DEFAULT_DETECTOR))
  .option('--backend <name>', 'TF.js backend: tensorflow, wasm or cpu')
  .action(main);

interface Opts {
  model?: string;
  models: string;
  json?: boolean;
  whole?: boolean;
  tta?: boolean;
  maxFaces: number;
  detector: DetectorName;
  backend?: string;
}

type ImageAnswer =
  | {
      file: string;
      image: { width: number; height: number };
      face_source: string;
      faces: Array<Pick<Analysis['faces'][number], 'box' | 'label' | 'scores'>>;
      ms: number;
    }
  | { file: string; error: string };

const pct = (p: number) => `${(p * 100).toFixed(0)}%`;

function describe(a: Extract<ImageAnswer, { faces: unknown }>): string {
  const head = `${a.file} (${a.image.width}x${a.image.height}): ${a.faces.length === 0 ? 'no face found (try --whole for a cropped face)' : `${a.faces.length} face${a.faces.length > 1 ? 's' : ''} (${a.face_source})`}`;
  const lines = a.faces.map((f, i) => {
    const others = LABELS.filter((l) => l !== f.label)
      .sort((x, y) => f.scores[y] - f.scores[x])
      .slice(0, 2);
    const { x, y, width, height } = f.box;
    return `  face ${i + 1} at ${x},${y} ${width}x${height}: ${f.label} ${pct(f.scores[f.label])} (${others.map((l) => `${l} ${pct(f.scores[l])}`).join(', ')})`;
  });
  return [head, ...lines].join('\n');
}

async function main(images: string[], o: Opts): Promise<void> {
  const log = (m: string) => console.error(m);
  await initBackend(o.backend, log);
  const registry = await loadRegistry(o.models, () => {});
  try {
    const entry = registry.get(o.model);
    if (!entry) {
      const known = registry.models.map((m) => m.id).join(', ') || 'none';
      throw new Error(
        o.model ? `no model "${o.model}" in ${o.models} (it has: ${known})` : `no model in ${o.models}: train one first (npm run train)`,
      );
    }
    const answers: ImageAnswer[] = [];
    for (const file of images) {
      const name = path.basename(file);
      try {
        const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
          throw new Error(e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a folder, not a photo' : e.message);
        });
        const a = await analyseImage(bytes, entry, {
          maxPixels: DEFAULT_MAX_PIXELS,
          whole: o.whole,
          maxFaces: o.maxFaces,
          detector: o.detector,
          tta: o.tta,
        });
        answers.push({
          file: name,
          image: { width: a.image.width, height: a.image.height },
          face_source: a.faceSource,
          faces: a.faces.map(({ box, label, scores }) => ({ box, label, scores })),
          ms: a.ms,
        });
      } catch (e) {
        answers.push({ file: name, error: `${file}: ${(e as Error).message}` });
      }
      const last = answers[answers.length - 1];
      if (!o.json) console.log('error' in last ? last.error : describe(last));
    }
    if (o.json) process.stdout.write(JSON.stringify({ model: entry.id, images: answers }) + '\n');
    else console.log(`(model ${entry.id})`);
    // A photo that could not be read fails the command, after the others were answered.
    if (answers.some((a) => 'error' in a)) process.exitCode = 1;
  } finally {
    disposeRegistry(registry);
  }
}

await runCli(program);
