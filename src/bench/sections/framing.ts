/**
 * Bench section `framing`: does the photo path cut faces out the way FER2013
 * framed them? FER2013 faces (PublicTest) are upscaled to 192x192 and sent
 * through the demo's own steps (decode, BlazeFace with its close-up handling,
 * crop, the default model):
 *  - the detector's box against the FER2013 frame: its side as a fraction of
 *    the image's, and how far its centre sits below the image's centre;
 *  - accuracy of the crops at several margins around the box, against the
 *    48x48 faces fed directly, with McNemar's test against the detector's own
 *    margin.
 * Crops wider than the frame repeat its edge pixels (a real photo would show
 * more of the scene), so the figures for the faces whose crop at the
 * detector's margin stays inside the picture are given separately.
 *
 *   npm run bench -- framing --set data=fer2013.csv.gz [--set faces=1200] [--set margins=1,1.1,1.25,1.35] [--set model=NAME]
 */
import sharp from 'sharp';
import { decodeImage } from '../../inference/decode.js';
import { getFaceDetector } from '../../inference/detect/index.js';
import { cropFaces, findFaces, type FaceRegion } from '../../inference/faces.js';
import { predictFaces, topLabel } from '../../inference/predict.js';
import { disposeRegistry } from '../../inference/registry.js';
import { FACE_PIXELS } from '../../inference/preprocess.js';
import { loadDataSet, type Split } from '../../training/dataset.js';
import { mcnemarCounts, mcnemarTest } from '../../compare/mcnemar.js';
import { LABELS } from '../../types.js';
import { benchModels, type BenchModels } from '../bench-models.js';
import { nearestRank, type BenchContext, type BenchSection, type Figure, type SectionResult } from '../framework.js';

const UPSCALED = 192;
const BATCH = 128;

const quantile = (values: number[], p: number): number => nearestRank(Float64Array.from(values).sort(), p);

const section: BenchSection = {
  name: 'framing',
  title: "Face crops against FER2013's own framing (BlazeFace on upscaled PublicTest faces)",
  async run(ctx: BenchContext): Promise<SectionResult> {
    const data = ctx.options.data;
    if (!data) {
      return {
        figures: [],
        notes: ['skipped: give the FER2013 file with --set data=fer2013.csv.gz (its PublicTest rows are used)'],
      };
    }
    const wanted = Number(ctx.options.faces ?? (ctx.quick ? 200 : 1200));
    if (!Number.isInteger(wanted) || wanted < 10) throw new Error(`--set faces expects a whole number >= 10, got "${ctx.options.faces}"`);
    const margins = (ctx.options.margins ?? '1,1.1,1.2,1.25,1.35').split(',').map(Number);
    if (margins.some((m) => !(m > 0.5 && m < 3)))
      throw new Error(`--set margins expects numbers between 0.5 and 3, got "${ctx.options.margins}"`);

    const split = (await loadDataSet(data, { usages: ['PublicTest'] })).get('PublicTest');
    if (!split?.size) throw new Error(`${data} has no PublicTest rows`);
    const models = await benchModels(ctx.options.models ?? 'models', ctx.log);
    try {
      return await measure(ctx, split, models, wanted, margins);
    } finally {
      disposeRegistry(models.registry);
      await models.cleanup();
    }
  },
};

/** The section's measurements, once the faces and the models are loaded. */
async function measure(ctx: BenchContext, split: Split, models: BenchModels, wanted: number, margins: number[]): Promise<SectionResult> {
  const entry = ctx.options.model ? models.registry.get(ctx.options.model) : models.registry.models[0];
  if (!entry) throw new Error(`no model named ${ctx.options.model} in ${models.dir}`);
  const detector = await getFaceDetector();
  const own = detector.margin;
  if (!margins.includes(own)) margins.push(own);
  margins.sort((a, b) => a - b);

  // Every face's BlazeFace box (margin 1), then its crops at each margin, stacked per margin beside the direct faces.
  const n = Math.min(wanted, split.size);
  const labels: number[] = [];
  const directFaces = new Uint8Array(n * FACE_PIXELS);
  const crops = margins.map(() => new Uint8Array(n * FACE_PIXELS));
  const ratio: number[] = [];
  const below: number[] = [];
  /** Whether each face's crop at the detector's margin stays inside the picture (then it repeats no edge pixels). */
  const fits: boolean[] = [];
  let missed = 0;
  for (let i = 0; i < n; i++) {
    const face = split.pixels.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS);
    const png = await sharp(Buffer.from(face), { raw: { width: 48, height: 48, channels: 1 } })
      .resize(UPSCALED, UPSCALED, { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    const image = await decodeImage(png, { maxPixels: UPSCALED * UPSCALED });
    const [box] = await findFaces(image, { margin: 1, maxFaces: 1 });
    if (!box) {
      missed++;
      continue;
    }
    const at = labels.length * FACE_PIXELS;
    labels.push(split.labels[i]);
    directFaces.set(face, at);
    ratio.push(box.side / UPSCALED);
    below.push((box.centre.y - UPSCALED / 2) / box.side);
    const half = (box.side * own) / 2;
    fits.push(box.centre.x - half >= 0 && box.centre.y - half >= 0 && box.centre.x + half <= UPSCALED && box.centre.y + half <= UPSCALED);
    const cut = await cropFaces(
      image,
      margins.map((m): FaceRegion => ({ ...box, side: box.side * m })),
    );
    crops.forEach((stack, k) => stack.set(cut.subarray(k * FACE_PIXELS, (k + 1) * FACE_PIXELS), at));
    if ((i + 1) % 200 === 0) ctx.log(`[bench] framing: ${i + 1}/${n} faces`);
  }

  if (labels.length === 0) return { figures: [], notes: [`BlazeFace found none of the ${n} faces: nothing to compare`] };
  /** Predicted class of each found face in `stack` (only its first labels.length faces are filled). */
  const predict = (stack: Uint8Array): number[] => {
    const out: number[] = [];
    const end = labels.length * FACE_PIXELS;
    for (let s = 0; s < end; s += BATCH * FACE_PIXELS)
      for (const row of predictFaces(entry, stack.subarray(s, Math.min(end, s + BATCH * FACE_PIXELS))))
        out.push(LABELS.indexOf(topLabel(row)));
    return out;
  };
  const directPred = predict(directFaces);
  const cropPred = crops.map(predict);

  const r1 = (v: number) => Math.round(v * 10) / 10;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  const accuracy = (pred: number[], rows: number[]) => (100 * rows.filter((j) => pred[j] === labels[j]).length) / rows.length;
  const everyFace = labels.map((_, j) => j);
  const inside = everyFace.filter((j) => fits[j]);
  const ownIndex = margins.indexOf(own);
  const vsOwn = (pred: number[], rows: number[]) => {
    const pick = (p: number[]) => rows.map((j) => p[j]);
    const c = mcnemarCounts(pick(labels), pick(pred), pick(cropPred[ownIndex]));
    return `${c.a_only} faces right only here, ${c.b_only} only at x${own}; McNemar p = ${mcnemarTest(c.a_only, c.b_only).p_value.toPrecision(2)}`;
  };

  const figures: Figure[] = [
    {
      id: 'faces',
      label: 'PublicTest faces sent through the photo path',
      value: n,
      unit: 'faces',
      note: `${missed} without a face found`,
    },
    {
      id: 'box_side_p50',
      label: 'BlazeFace box side / FER2013 frame side, median (p10-p90)',
      value: r3(quantile(ratio, 0.5)),
      unit: '',
      note: `${r3(quantile(ratio, 0.1))}-${r3(quantile(ratio, 0.9))}; the margin that reproduces the frame: x${r3(1 / quantile(ratio, 0.5))}`,
    },
    {
      id: 'box_below_p50',
      label: "box centre below the frame's centre, median, in box sides",
      value: r3(quantile(below, 0.5)),
      unit: '',
    },
    { id: 'accuracy_direct', label: `${entry.id}: the 48x48 faces fed directly`, value: r1(accuracy(directPred, everyFace)), unit: '%' },
  ];
  for (const [k, m] of margins.entries()) {
    figures.push({
      id: `accuracy_margin_${m}`,
      label: `${entry.id}: crops at margin x${m}${m === own ? ' (the detector default)' : ''}`,
      value: r1(accuracy(cropPred[k], everyFace)),
      unit: '%',
      note: m === own ? `direct against this: ${vsOwn(directPred, everyFace)}` : vsOwn(cropPred[k], everyFace),
    });
  }
  for (const [k, m] of margins.entries()) {
    figures.push({
      id: `inside_accuracy_margin_${m}`,
      label: `the ${inside.length} faces whose x${own} crop stays inside the picture: margin x${m}`,
      value: inside.length ? r1(accuracy(cropPred[k], inside)) : null,
      unit: '%',
      note: inside.length && m !== own ? vsOwn(cropPred[k], inside) : undefined,
    });
  }
  return {
    figures,
    notes: [
      'Crops wider than the FER2013 frame repeat its edge pixels, where a real photo would show more of the scene: read the wide margins on the "inside" faces.',
    ],
  };
}

export default section;
