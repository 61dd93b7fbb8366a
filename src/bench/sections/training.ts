/**
 * Bench section `training`: images/s of a full training step
 * (preprocessing, forward, backward, Adam) exactly as the trainer runs it
 * (trainStep on splitModel), for the custom CNN and MobileNetV2 (head phase
 * and fine-tuning, as the shipped runs use them), on
 * wasm and on cpu, the wasm/cpu ratio and
 * minutes per FER2013 epoch; then the four gradient kernels of src/tf/wasm-gradients.ts against
 * the built-in routes they replace, on a 3x3 conv.
 *
 * The pure-JS cpu backend is so slow (a batch-64 custom-CNN step ran over ten
 * minutes here) that the custom CNN's cpu steps use a small batch and the
 * kernels batch 8, scaled to 64. MobileNetV2's cpu steps run at the real
 * batch of 64 (about a minute each): per-step costs (Adam, JS overhead) do not
 * scale with the batch, and a small batch made the ratio up to 8% rosier.
 *
 * Options (--set key=value): wasm_steps (3), cpu_steps (2), cpu_batch (4: the
 * custom CNN's cpu steps), cpu_batch_mnv2 (64: MobileNetV2's), cpu_kernel_batch
 * (8), skip_cpu=1, skip_kernels=1, skip_builtin=1 (the minutes-long built-in
 * wasm routes), skip_runs=1 (the real runs' shapes), only=id,id (just these
 * models, e.g. only=mnv2_head,mnv2_shipped_finetune).
 *
 * Threads: the threaded wasm build against the single-threaded one, each in
 * fresh processes (training-child.ts) run alternately, images/s of both and
 * their ratio. Options: threads (all cores), threads_rounds (2), threads_steps
 * (3), threads_only (cnn48_default,cnn_shipped,mnv2_shipped_finetune), skip_threads=1,
 * profile=1 (per-kernel shares of one step of each, in the notes).
 *
 * Native kernels: the OpenBLAS addon against wasm's own kernels, the same way
 * (nativeFigures; options native_only, native_rounds, native_steps, skip_native=1).
 */
import { tf, initBackend } from '../../tf/backend.js';
import { originalWasmKernels } from '../../tf/wasm-gradients.js';
import { buildCustomCnn, cnnInput } from '../../training/architectures/custom-cnn.js';
import { CNN_DEFAULTS, MOBILENET_DEFAULTS } from '../../training/config.js';
import {
  buildMobileNetV2,
  finetuneStartLayer,
  keepBatchNormInInference,
  mobilenetInput,
} from '../../training/architectures/mobilenetv2.js';
import { splitModel } from '../../training/split-model.js';
import { trainStep } from '../../training/step.js';
import { augmentFaces, DEFAULT_AUGMENT } from '../../training/augment.js';
import { mulberry32 } from '../../training/random.js';
import { FACE_PIXELS } from '../../inference/preprocess.js';
import { NUM_CLASSES } from '../../types.js';
import type { InputSpec } from '../../artifacts/card.js';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { timeMedian, type BenchContext, type BenchSection, type Figure, type SectionResult } from '../framework.js';

const BATCH = 64;
/** FER2013 Training rows: one epoch. */
const EPOCH_IMAGES = 28_709;

interface ModelCase {
  id: string;
  label: string;
  /** Which cpu batch option applies: the custom CNN's small one, or MobileNetV2's (64 by default). */
  family: 'cnn' | 'mnv2';
  build(): { model: tf.LayersModel; firstTopLayer: string | null; spec: InputSpec };
  /** Also measured on cpu (the wasm/cpu ratio). */
  cpu: boolean;
}

const cnn = (
  id: string,
  label: string,
  inputSize: number,
  convsPerBlock: number[],
  cpu: boolean,
  widths: number[] = CNN_DEFAULTS.widths,
): ModelCase => ({
  id,
  label,
  cpu,
  family: 'cnn',
  build: () => ({
    model: buildCustomCnn({ ...CNN_DEFAULTS, inputSize, convsPerBlock, widths }),
    firstTopLayer: null,
    spec: cnnInput(inputSize),
  }),
});
/** `inferenceBn`: batch norm kept in inference mode, as architectures/mobilenetv2.ts builds MobileNetV2 for real runs. */
const mnv2 = (id: string, label: string, size: number, firstTopLayer: string, cpu: boolean, inferenceBn = false): ModelCase => ({
  id,
  label,
  cpu,
  family: 'mnv2',
  build: () => {
    const model = buildMobileNetV2({ inputSize: size });
    if (inferenceBn) keepBatchNormInInference(model);
    return { model, firstTopLayer, spec: mobilenetInput(size) };
  },
});

/** The custom CNN at 48x48 (the speed target's shape), the shipped CNN recipe, and MobileNetV2 at 96x96 from block 8. */
const MODELS: ModelCase[] = [
  cnn('cnn', 'custom CNN 32-64-128-256, convs 1,1,2,2, 48x48', 48, [1, 1, 2, 2], true),
  cnn(
    'cnn48_default',
    `custom CNN, default layers (convs ${CNN_DEFAULTS.convsPerBlock.join(',')}) at 48x48`,
    48,
    CNN_DEFAULTS.convsPerBlock,
    false,
  ),
  cnn(
    'cnn_shipped',
    `custom CNN as shipped (defaults: ${CNN_DEFAULTS.inputSize}x${CNN_DEFAULTS.inputSize}, convs ${CNN_DEFAULTS.convsPerBlock.join(',')})`,
    CNN_DEFAULTS.inputSize,
    CNN_DEFAULTS.convsPerBlock,
    false,
  ),
  mnv2('mnv2_head', 'MobileNetV2 0.35 96x96, head on the frozen base', 96, 'global_average_pooling2d', true),
  mnv2('mnv2_finetune', 'MobileNetV2 0.35 96x96, fine-tuning from block 8', 96, 'block_8_expand', true),
];

const SHIPPED_MNV2 = `${MOBILENET_DEFAULTS.inputSize}x${MOBILENET_DEFAULTS.inputSize}`;
const SHIPPED_FINETUNE = finetuneStartLayer(MOBILENET_DEFAULTS.finetuneFrom);

/**
 * The shapes of real runs: the shipped MobileNetV2 recipe (the defaults), built as architectures/mobilenetv2.ts
 * builds it (batch norm kept in inference mode) and measured on cpu too, the same at 128x128 (a larger input
 * the recipe trials measure), and two earlier recipes whose figures docs/performance.md reports.
 */
const RUN_MODELS: ModelCase[] = [
  mnv2(
    'mnv2_shipped_head',
    `MobileNetV2 0.35 as shipped (${SHIPPED_MNV2}), head, inference-mode BN`,
    MOBILENET_DEFAULTS.inputSize,
    'global_average_pooling2d',
    true,
    true,
  ),
  mnv2(
    'mnv2_shipped_finetune',
    `MobileNetV2 0.35 as shipped (${SHIPPED_MNV2}), fine-tuning from block ${MOBILENET_DEFAULTS.finetuneFrom}, inference-mode BN`,
    MOBILENET_DEFAULTS.inputSize,
    SHIPPED_FINETUNE,
    true,
    true,
  ),
  mnv2(
    'mnv2_128_finetune',
    `MobileNetV2 0.35 128x128 (--input-size 128), fine-tuning from block ${MOBILENET_DEFAULTS.finetuneFrom}, inference-mode BN`,
    128,
    SHIPPED_FINETUNE,
    false,
    true,
  ),
  cnn('cnn24', 'custom CNN 32-64-128-256, convs 2,2,2,1, 24x24 (an earlier recipe)', 24, [2, 2, 2, 1], false),
  cnn(
    'cnn_wide',
    `custom CNN 64-128-256-512 (--cnn-widths 64,128,256,512), convs ${CNN_DEFAULTS.convsPerBlock.join(',')}, 48x48 (a recipe trial)`,
    48,
    CNN_DEFAULTS.convsPerBlock,
    false,
    [64, 128, 256, 512],
  ),
  mnv2('mnv2_64_head', 'MobileNetV2 0.35 64x64, head, inference-mode BN (an earlier recipe)', 64, 'global_average_pooling2d', true, true),
  mnv2(
    'mnv2_64_finetune',
    'MobileNetV2 0.35 64x64, fine-tuning from block 3, inference-mode BN (an earlier recipe)',
    64,
    'block_3_expand',
    true,
    true,
  ),
];

export const ALL_CASES: readonly ModelCase[] = [...MODELS, ...RUN_MODELS];

function randomBatch(n: number, seed: number): { faces: Float32Array; labels: Int32Array } {
  const rng = mulberry32(seed);
  const faces = new Float32Array(n * FACE_PIXELS);
  for (let i = 0; i < faces.length; i++) faces[i] = Math.floor(rng() * 256);
  return { faces, labels: Int32Array.from({ length: n }, (_, i) => i % NUM_CLASSES) };
}

/**
 * ms per training step (median) of one model on the current backend. `onPhase` hears 'adam' while the
 * optimizer applies its update and null after (the kernel profile keys the update apart).
 */
export async function stepMs(
  c: ModelCase,
  batch: number,
  steps: number,
  warmup: number,
  onPhase?: (phase: string | null) => void,
): Promise<number> {
  const { model, firstTopLayer, spec } = c.build();
  const split = splitModel(model, firstTopLayer);
  const opt = tf.train.adam(1e-3);
  if (onPhase) {
    const apply = opt.applyGradients.bind(opt);
    opt.applyGradients = (g) => {
      onPhase('adam');
      try {
        apply(g);
      } finally {
        onPhase(null);
      }
    };
  }
  const { faces, labels } = randomBatch(batch, 1);
  const classW = new Array<number>(NUM_CLASSES).fill(1);
  try {
    // The trainer's own step: preprocessing, forward, backward, Adam update (label smoothing as in real runs).
    const { median } = await timeMedian(
      () => trainStep(split, opt, faces, labels, spec, classW, { smoothing: 0.1, focalGamma: 0 }),
      steps,
      warmup,
    );
    return median;
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** ms to augment one batch of 64 faces (plain JS, outside TF.js; part of every training step). */
function augmentMs(): number {
  const { faces } = randomBatch(BATCH, 2);
  const out = new Float32Array(faces.length);
  const rng = mulberry32(3);
  augmentFaces(faces, out, BATCH, DEFAULT_AUGMENT, rng);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) augmentFaces(faces, out, BATCH, DEFAULT_AUGMENT, rng);
  return (performance.now() - t0) / 5;
}

/** Runs `fn` with the wasm backend's original kernel in place of ours, then puts ours back. */
async function withOriginalKernel<T>(name: string, fn: () => Promise<T>): Promise<T | null> {
  const original = originalWasmKernels.get(name);
  if (!original) return null;
  const ours = tf.getKernel(name, 'wasm')!;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel(original);
  try {
    return await fn();
  } finally {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(ours);
  }
}

/** Time (ms) of one kernel call, output read back and freed. */
async function kernelMs(run: () => tf.Tensor, reps: number, warmup: number): Promise<number> {
  const { median } = await timeMedian(
    async () => {
      const y = run();
      await y.data();
      y.dispose();
    },
    reps,
    warmup,
  );
  return median;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const rng = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: size }, () => rng() * 2 - 1),
    shape,
  );
}

/** The gradient kernels on a 3x3 conv (batch 64, 48x48, 32->64), and MobileNetV2's first strided depthwise. */
async function kernelFigures(ctx: BenchContext, skipCpu: boolean, cpuBatch: number, skipBuiltin: boolean): Promise<Figure[]> {
  const figs: Figure[] = [];
  const reps = ctx.quick ? 1 : 3;
  const n = BATCH;
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' } as const;
  const conv = 'conv 3x3 64x48x48x32->64';
  // MobileNetV2 at 96x96, block_1: 48 expanded channels at 48x48, Keras pads (0,1) then a valid stride-2 depthwise.
  const dw = 'depthwise 3x3/2 64x49x49x48';
  const dwAttrs = { strides: 2, pad: 'valid', dilations: 1 } as const;
  const shapes = {
    x: [n, 48, 48, 32],
    f: [3, 3, 32, 64],
    dy: [n, 48, 48, 64],
    dwx: [n, 49, 49, 48],
    dwf: [3, 3, 48, 1],
    dwdy: [n, 24, 24, 48],
  };
  const make = () => ({
    x: randomTensor(shapes.x, 1),
    f: randomTensor(shapes.f, 2),
    dy: randomTensor(shapes.dy, 3),
    dwx: randomTensor(shapes.dwx, 4),
    dwf: randomTensor(shapes.dwf, 5),
    dwdy: randomTensor(shapes.dwdy, 6),
  });
  const add = (id: string, label: string, value: number | null, note?: string) =>
    figs.push({ id, label, value, unit: 'ms', ...(note ? { note } : {}) });
  const engine = () => tf.engine();

  await tf.setBackend('wasm');
  let t = make();
  ctx.log('[bench] kernels on wasm');
  add(
    'conv_forward_wasm_ms',
    `${conv}: forward Conv2D, wasm`,
    await kernelMs(() => tf.conv2d(t.x as tf.Tensor4D, t.f as tf.Tensor4D, 1, 'same'), reps, 1),
  );
  add(
    'conv_backprop_input_wasm_ms',
    `${conv}: Conv2DBackpropInput, wasm (ours)`,
    await kernelMs(
      () => engine().runKernel('Conv2DBackpropInput', { dy: t.dy, filter: t.f }, { ...attrs, inputShape: shapes.x }) as tf.Tensor,
      reps,
      1,
    ),
  );
  if (!skipBuiltin)
    add(
      'conv_backprop_input_wasm_builtin_ms',
      `${conv}: Conv2DBackpropInput, wasm built-in`,
      await withOriginalKernel('Conv2DBackpropInput', () =>
        kernelMs(
          () => engine().runKernel('Conv2DBackpropInput', { dy: t.dy, filter: t.f }, { ...attrs, inputShape: shapes.x }) as tf.Tensor,
          1,
          0,
        ),
      ),
      'the slow loop ours replaces',
    );
  add(
    'conv_backprop_filter_wasm_ms',
    `${conv}: Conv2DBackpropFilter, wasm (ours)`,
    await kernelMs(
      () => engine().runKernel('Conv2DBackpropFilter', { x: t.x, dy: t.dy }, { ...attrs, filterShape: shapes.f }) as tf.Tensor,
      reps,
      1,
    ),
  );
  if (!skipBuiltin)
    add(
      'conv_backprop_filter_wasm_conv3d_ms',
      `${conv}: filter gradient via Conv3DBackpropFilterV2, wasm`,
      await kernelMs(
        () =>
          tf.tidy(() =>
            tf.reshape(
              engine().runKernel(
                'Conv3DBackpropFilterV2',
                { x: tf.reshape(t.x, [n, 1, 48, 48, 32]), dy: tf.reshape(t.dy, [n, 1, 48, 48, 64]) },
                { strides: [1, 1, 1], pad: 'same', filterShape: [1, 3, 3, 32, 64] },
              ) as tf.Tensor,
              shapes.f,
            ),
          ),
        1,
        0,
      ),
      'the only built-in wasm route (no Conv2DBackpropFilter)',
    );
  add(
    'dw_backprop_filter_wasm_ms',
    `${dw}: DepthwiseConv2dNativeBackpropFilter, wasm (ours)`,
    await kernelMs(
      () =>
        engine().runKernel(
          'DepthwiseConv2dNativeBackpropFilter',
          { x: t.dwx, dy: t.dwdy },
          { ...dwAttrs, filterShape: shapes.dwf },
        ) as tf.Tensor,
      reps,
      1,
    ),
    'no built-in wasm kernel',
  );
  add(
    'dw_backprop_input_wasm_ms',
    `${dw}: DepthwiseConv2dNativeBackpropInput, wasm (ours)`,
    await kernelMs(
      () =>
        engine().runKernel(
          'DepthwiseConv2dNativeBackpropInput',
          { dy: t.dwdy, filter: t.dwf },
          { ...dwAttrs, inputShape: shapes.dwx },
        ) as tf.Tensor,
      reps,
      1,
    ),
    'no built-in wasm kernel',
  );
  tf.dispose(Object.values(t));

  if (!skipCpu) {
    // cpu at a smaller batch (minutes per call at 64 here), scaled to 64: each kernel is linear in the batch.
    const b = cpuBatch;
    const scale = n / b;
    const note = `measured at batch ${b}, x${scale}`;
    await tf.setBackend('cpu');
    const s = (shape: number[]) => [b, ...shape.slice(1)];
    t = {
      x: randomTensor(s(shapes.x), 1),
      f: randomTensor(shapes.f, 2),
      dy: randomTensor(s(shapes.dy), 3),
      dwx: randomTensor(s(shapes.dwx), 4),
      dwf: randomTensor(shapes.dwf, 5),
      dwdy: randomTensor(s(shapes.dwdy), 6),
    };
    ctx.log(`[bench] kernels on cpu, batch ${b} (slow)`);
    add(
      'conv_backprop_input_cpu_ms',
      `${conv}: Conv2DBackpropInput, cpu`,
      scale *
        (await kernelMs(
          () => engine().runKernel('Conv2DBackpropInput', { dy: t.dy, filter: t.f }, { ...attrs, inputShape: s(shapes.x) }) as tf.Tensor,
          1,
          0,
        )),
      note,
    );
    add(
      'conv_backprop_filter_cpu_ms',
      `${conv}: Conv2DBackpropFilter, cpu`,
      scale *
        (await kernelMs(
          () => engine().runKernel('Conv2DBackpropFilter', { x: t.x, dy: t.dy }, { ...attrs, filterShape: shapes.f }) as tf.Tensor,
          1,
          0,
        )),
      note,
    );
    add(
      'dw_backprop_filter_cpu_ms',
      `${dw}: DepthwiseConv2dNativeBackpropFilter, cpu`,
      scale *
        (await kernelMs(
          () =>
            engine().runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x: t.dwx, dy: t.dwdy },
              { ...dwAttrs, filterShape: shapes.dwf },
            ) as tf.Tensor,
          1,
          0,
        )),
      note,
    );
    add(
      'dw_backprop_input_cpu_ms',
      `${dw}: DepthwiseConv2dNativeBackpropInput, cpu`,
      scale *
        (await kernelMs(
          () =>
            engine().runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: t.dwdy, filter: t.dwf },
              { ...dwAttrs, inputShape: s(shapes.dwx) },
            ) as tf.Tensor,
          1,
          0,
        )),
      note,
    );
    tf.dispose(Object.values(t));
    await tf.setBackend('wasm');
  }
  return figs;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'training-child.ts');
const run = promisify(execFile);

/** A numeric --set option, or the fallback. */
const optionNumber = (ctx: BenchContext, key: string, fallback: number) => (ctx.options[key] != null ? Number(ctx.options[key]) : fallback);

/** The middle of the sorted values (the upper one of two): the figure of alternated processes. */
const upperMedian = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

interface ChildResult {
  threads: number;
  /** The OpenBLAS core of the native kernels, or null where wasm's own ran. */
  native: string | null;
  ms: number;
  kernels?: Array<{ name: string; calls: number; ms: number }>;
}

async function childStep(
  model: string,
  threads: number,
  steps: number,
  profile: boolean,
  env: Record<string, string | undefined> = {},
): Promise<ChildResult> {
  const args = JSON.stringify({ model, threads, batch: BATCH, steps, profile });
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, args], {
    maxBuffer: 1 << 20,
    timeout: 30 * 60_000,
    env: childEnv,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
}

/** `name 41%, name 20%, ...`: the kernels' shares of one step's wall time, the rest as "JS between kernels". */
function profileNote(label: string, r: ChildResult): string {
  const kernels = r.kernels ?? [];
  const wall = kernels.find((k) => k.name === '(step wall time)')?.ms ?? 0;
  const rows = kernels.filter((k) => k.name !== '(step wall time)');
  const inKernels = rows.reduce((a, k) => a + k.ms, 0);
  const pct = (ms: number) => `${((100 * ms) / wall).toFixed(1)}%`;
  const top = rows.slice(0, 12).map((k) => `${k.name} ${pct(k.ms)}`);
  return `profile, ${label} (${Math.round(wall)} ms step): ${top.join(', ')}; other kernels ${pct(inKernels - rows.slice(0, 12).reduce((a, k) => a + k.ms, 0))}; JS between kernels ${pct(wall - inKernels)}`;
}

/**
 * Single-threaded against threaded wasm, in fresh processes run alternately
 * (1, N, 1, N, ...: a change in the background load hits both alike); the
 * ratio is the figure to trust on a loaded machine.
 */
async function threadFigures(ctx: BenchContext, figures: Figure[], notes: string[]): Promise<void> {
  const num = (key: string, fallback: number) => optionNumber(ctx, key, fallback);
  const threads = num('threads', os.availableParallelism());
  if (threads < 2) {
    notes.push('threaded wasm not measured: one core (--set threads=N to force)');
    return;
  }
  const rounds = num('threads_rounds', ctx.quick ? 1 : 2);
  const steps = num('threads_steps', ctx.quick ? 1 : 3);
  const profile = ctx.options.profile === '1';
  const ids = (ctx.options.threads_only ?? 'cnn48_default,cnn_shipped,mnv2_shipped_finetune').split(',');
  for (const id of ids) {
    const c = ALL_CASES.find((m) => m.id === id);
    if (!c) throw new Error(`threads_only: unknown model ${id}`);
    const times = new Map<number, number[]>([
      [1, []],
      [threads, []],
    ]);
    const last = new Map<number, ChildResult>();
    for (let r = 0; r < rounds; r++) {
      for (const t of [1, threads]) {
        ctx.log(`[bench] ${c.label}: wasm, ${t} thread(s), round ${r + 1}/${rounds}`);
        const res = await childStep(id, t, steps, profile && r === rounds - 1);
        if (res.threads !== t) throw new Error(`${id}: the wasm backend ran ${res.threads} threads, not ${t}`);
        times.get(t)!.push(res.ms);
        last.set(t, res);
      }
    }
    const ips = (t: number) => (BATCH / upperMedian(times.get(t)!)) * 1000;
    for (const t of [1, threads]) {
      figures.push({
        id: `${id}_wasm_${t}t_images_per_s`,
        label: `${c.label}: wasm, ${t} thread${t > 1 ? 's' : ''}`,
        value: ips(t),
        unit: 'images/s',
        note: `median of ${rounds} process(es) x ${steps} step(s) of ${BATCH}: ${times
          .get(t)!
          .map((ms) => Math.round(ms))
          .join(', ')} ms`,
      });
      if (profile && last.get(t)?.kernels) notes.push(profileNote(`${id}, ${t} thread(s)`, last.get(t)!));
    }
    figures.push({
      id: `${id}_wasm_threads_speedup`,
      label: `${c.label}: ${threads} threads / 1 thread`,
      value: ips(threads) / ips(1),
      unit: 'x',
      note: 'same run, alternating processes; --threads in npm run train',
    });
  }
}

/**
 * The OpenBLAS kernels (native-kernels.ts) against wasm's own, in fresh processes run
 * alternately (EKSPRESI_NATIVE=0 switches the addon off), one thread each. Where the
 * environment picks an OpenBLAS core (OPENBLAS_CORETYPE), the core OpenBLAS would choose
 * without it is measured too. Options: native_only (cnn48_default,mnv2_shipped_finetune),
 * native_rounds (2), native_steps (3), skip_native=1.
 */
async function nativeFigures(ctx: BenchContext, figures: Figure[], notes: string[]): Promise<void> {
  const num = (key: string, fallback: number) => optionNumber(ctx, key, fallback);
  const rounds = num('native_rounds', ctx.quick ? 1 : 2);
  const steps = num('native_steps', ctx.quick ? 1 : 3);
  const variants: Array<{ key: string; env: Record<string, string | undefined> }> = [
    { key: 'wasm', env: { EKSPRESI_NATIVE: '0' } },
    { key: 'native', env: {} },
  ];
  if (process.env.OPENBLAS_CORETYPE) variants.push({ key: 'native_auto', env: { OPENBLAS_CORETYPE: undefined } });
  for (const id of (ctx.options.native_only ?? 'cnn48_default,mnv2_shipped_finetune').split(',')) {
    const c = ALL_CASES.find((m) => m.id === id);
    if (!c) throw new Error(`native_only: unknown model ${id}`);
    const times = new Map<string, number[]>(variants.map((v) => [v.key, []]));
    const cores = new Map<string, string | null>();
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        ctx.log(`[bench] ${c.label}: ${v.key}, round ${r + 1}/${rounds}`);
        const res = await childStep(id, 1, steps, false, v.env);
        if ((v.key === 'wasm') !== (res.native == null)) {
          notes.push(`${id}: the OpenBLAS addon is not built (npm run build:native), so its kernels were not measured`);
          return;
        }
        times.get(v.key)!.push(res.ms);
        cores.set(v.key, res.native);
      }
    }
    const ips = (key: string) => (BATCH / upperMedian(times.get(key)!)) * 1000;
    for (const v of variants) {
      const core = cores.get(v.key);
      figures.push({
        id: `${id}_${v.key}_images_per_s`,
        label: `${c.label}: ${core ? `OpenBLAS kernels (${core}${v.key === 'native_auto' ? ', OPENBLAS_CORETYPE unset' : ''})` : 'wasm kernels'}, 1 thread`,
        value: ips(v.key),
        unit: 'images/s',
        note: `median of ${rounds} process(es) x ${steps} step(s) of ${BATCH}: ${times
          .get(v.key)!
          .map((ms) => Math.round(ms))
          .join(', ')} ms`,
      });
      if (v.key !== 'wasm')
        figures.push({
          id: `${id}_${v.key}_speedup`,
          label: `${c.label}: ${core} kernels / wasm kernels`,
          value: ips(v.key) / ips('wasm'),
          unit: 'x',
          note: 'same run, alternating processes',
        });
    }
  }
}

const section: BenchSection = {
  name: 'training',
  title: 'Training throughput on this machine',
  async run(ctx: BenchContext): Promise<SectionResult> {
    await initBackend('wasm');
    const num = (key: string, fallback: number) => optionNumber(ctx, key, fallback);
    const wasmSteps = num('wasm_steps', ctx.quick ? 1 : 3);
    const cpuSteps = num('cpu_steps', ctx.quick ? 1 : 2);
    const cpuBatch = num('cpu_batch', 4);
    const cpuBatchMnv2 = num('cpu_batch_mnv2', BATCH);
    const cpuBatchOf = (c: ModelCase) => (c.family === 'mnv2' ? cpuBatchMnv2 : cpuBatch);
    const cpuKernelBatch = num('cpu_kernel_batch', 8);
    const skipCpu = ctx.options.skip_cpu === '1';
    const figures: Figure[] = [];
    const notes: string[] = [];

    const aug = augmentMs();
    figures.push({ id: 'augment_ms_per_batch', label: 'augmentation of a batch of 64 (JS, per step)', value: aug, unit: 'ms' });

    const only = ctx.options.only?.split(',');
    const cases = [...MODELS, ...(ctx.options.skip_runs === '1' ? [] : RUN_MODELS)].filter((c) => !only || only.includes(c.id));
    for (const c of cases) {
      await tf.setBackend('wasm');
      ctx.log(`[bench] ${c.label}: wasm, batch ${BATCH}, ${wasmSteps} steps`);
      const wasmMs = await stepMs(c, BATCH, wasmSteps, 1);
      const wasmIps = (BATCH / wasmMs) * 1000;
      figures.push({
        id: `${c.id}_wasm_images_per_s`,
        label: `${c.label}: wasm`,
        value: wasmIps,
        unit: 'images/s',
        note: `${Math.round(wasmMs)} ms per step of ${BATCH}`,
      });
      // One epoch: every step plus its augmentation (validation not included).
      const epochMin = ((EPOCH_IMAGES / BATCH) * (wasmMs + aug)) / 60_000;
      figures.push({
        id: `${c.id}_wasm_minutes_per_epoch`,
        label: `${c.label}: wasm, one FER2013 epoch (28,709)`,
        value: epochMin,
        unit: 'min',
        note: 'steps + augmentation; target < 10',
      });
      if (!skipCpu && c.cpu) {
        await tf.setBackend('cpu');
        const b = cpuBatchOf(c);
        ctx.log(`[bench] ${c.label}: cpu, batch ${b}, ${cpuSteps} steps (slow)`);
        // No warm-up on cpu: nothing to compile, and a step costs minutes.
        const cpuMs = await stepMs(c, b, cpuSteps, 0);
        const cpuIps = (b / cpuMs) * 1000;
        figures.push({
          id: `${c.id}_cpu_images_per_s`,
          label: `${c.label}: cpu`,
          value: cpuIps,
          unit: 'images/s',
          note: `${Math.round(cpuMs)} ms per step of ${b}`,
        });
        figures.push({
          id: `${c.id}_wasm_cpu_ratio`,
          label: `${c.label}: wasm / cpu`,
          value: wasmIps / cpuIps,
          unit: 'x',
          note: 'target > 100',
        });
      }
      await tf.setBackend('wasm');
    }
    if (ctx.options.skip_threads !== '1') await threadFigures(ctx, figures, notes);
    if (ctx.options.skip_native !== '1') await nativeFigures(ctx, figures, notes);
    if (!skipCpu && cpuBatch !== BATCH && cases.some((c) => c.cpu && c.family === 'cnn')) {
      notes.push(
        `custom-CNN cpu steps use batch ${cpuBatch} (--set cpu_batch=64 for 64; one batch-64 custom-CNN step on cpu ran over 10 minutes here, a batch-8 one 282 s); images/s is per image, so the ratio compares like with like up to the per-step costs (Adam, JS overhead) that a small batch shares among fewer images, which favours wasm by a few per cent`,
      );
    }
    if (!skipCpu && cpuBatchMnv2 !== BATCH && cases.some((c) => c.cpu && c.family === 'mnv2')) {
      notes.push(
        `MobileNetV2 cpu steps use batch ${cpuBatchMnv2} (--set cpu_batch_mnv2); at batch 4 the per-step costs inflate the ratio (measured: 3% head, 8% fine-tuning from block 3)`,
      );
    }
    if (ctx.options.skip_kernels !== '1')
      figures.push(...(await kernelFigures(ctx, skipCpu, cpuKernelBatch, ctx.options.skip_builtin === '1')));
    const ratio = (a: string, b: string) => {
      const x = figures.find((f) => f.id === a)?.value,
        y = figures.find((f) => f.id === b)?.value;
      return x != null && y != null ? y / x : null;
    };
    const speedups: Array<[string, string, string, string]> = [
      [
        'conv_backprop_input_speedup_vs_builtin',
        'Conv2DBackpropInput: ours vs wasm built-in',
        'conv_backprop_input_wasm_ms',
        'conv_backprop_input_wasm_builtin_ms',
      ],
      [
        'conv_backprop_filter_speedup_vs_conv3d',
        'Conv2DBackpropFilter: ours vs Conv3DBackpropFilterV2 route',
        'conv_backprop_filter_wasm_ms',
        'conv_backprop_filter_wasm_conv3d_ms',
      ],
      [
        'conv_backprop_input_speedup_vs_cpu',
        'Conv2DBackpropInput: ours vs cpu',
        'conv_backprop_input_wasm_ms',
        'conv_backprop_input_cpu_ms',
      ],
      [
        'conv_backprop_filter_speedup_vs_cpu',
        'Conv2DBackpropFilter: ours vs cpu',
        'conv_backprop_filter_wasm_ms',
        'conv_backprop_filter_cpu_ms',
      ],
      [
        'dw_backprop_filter_speedup_vs_cpu',
        'DepthwiseConv2dNativeBackpropFilter: ours vs cpu',
        'dw_backprop_filter_wasm_ms',
        'dw_backprop_filter_cpu_ms',
      ],
      [
        'dw_backprop_input_speedup_vs_cpu',
        'DepthwiseConv2dNativeBackpropInput: ours vs cpu',
        'dw_backprop_input_wasm_ms',
        'dw_backprop_input_cpu_ms',
      ],
    ];
    for (const [id, label, ours, other] of speedups) {
      const r = ratio(ours, other);
      if (r != null) figures.push({ id, label, value: r, unit: 'x' });
    }
    notes.push(
      `wasm: median of ${wasmSteps} step(s) of ${BATCH} after 1 warm-up; cpu: median of ${cpuSteps} step(s) (custom CNN batch ${cpuBatch}, MobileNetV2 batch ${cpuBatchMnv2}), no warm-up; kernels: median of ${ctx.quick ? 1 : 3} (built-in and cpu routes: 1 call)`,
    );
    notes.push(
      "a training step here = preprocessing + forward + backward + Adam (the trainer's trainStep); an epoch adds augmentation (above) and a validation pass",
    );
    return { figures, notes };
  },
};

export default section;
