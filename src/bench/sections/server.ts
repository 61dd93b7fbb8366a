/**
 * Bench section `server`: the demo server in this process on
 * a loopback port, with the models in models/ (or a stand-in, said so):
 *  - model-only latency per face (batch 1), per model: the forward pass alone
 *    (compiled, and the layers model it replaces), and with the shared preprocessing (predictFaces);
 *  - POST /api/predict p50/p99 and requests/s for a 48x48 face (?whole=1)
 *    and a 640x480 photo (face detection included), sequential and with 8
 *    concurrent clients;
 *  - the load levels: 1, 8 and 32 concurrent clients;
 *  - RSS, tensors and open file handles after warm-up and after 5,000 requests.
 * Load comes from autocannon in this process (see load.ts). The rate limit is
 * off (every client is 127.0.0.1) and the queue may hold 64, so 32 clients are
 * measured rather than refused; the queue runs 2 predictions at once, as
 * `npm start` does.
 *
 * Options (--set key=value): load_seconds (20; --quick 4), sample_seconds
 * (10; --quick 3), memory_requests (5000; --quick 500), load_image
 * (face48 | photo; default face48), models (models/).
 */
import { predictFaces } from '../../inference/predict.js';
import { disposeRegistry, type LoadedNetwork } from '../../inference/registry.js';
import { createApp } from '../../server/app.js';
import { listen } from '../../server/http/listen.js';
import { initBackend, tf } from '../../tf/backend.js';
import { FACE_SIZE } from '../../types.js';
import { benchImages } from '../bench-images.js';
import { benchModels } from '../bench-models.js';
import { latency, timeMedian, type BenchContext, type BenchSection, type Figure, type SectionResult } from '../framework.js';
import { runLoad, type LoadResult } from '../load.js';
import { processStats } from '../process-stats.js';

const LOAD_LEVELS = [1, 8, 32];

function modelFigures(entry: LoadedNetwork, reps: number): Promise<Figure[]> {
  const spec = entry.card.input;
  const face = new Uint8Array(FACE_SIZE * FACE_SIZE).map((_, i) => (i * 37) % 256);
  const id = entry.id.replace(/[^a-z0-9]+/gi, '_');
  return (async () => {
    // The forward pass on a ready input tensor, read back to the CPU (dataSync).
    const x = tf.zeros<tf.Rank.R4>([1, spec.size, spec.size, spec.channels]);
    const raw = await timeMedian(() => tf.tidy(() => entry.run(x).dataSync()), reps, 10);
    // The same pass through the layers model, which the compiled model (fused-model.ts) replaces.
    const layers = entry.compiled
      ? await timeMedian(() => tf.tidy(() => (entry.model.predict(x) as tf.Tensor).dataSync()), reps, 10)
      : null;
    x.dispose();
    // What a request pays for classification: preprocessing + forward + softmax.
    const full = await timeMedian(() => predictFaces(entry, face, { tta: false }), reps, 10);
    const r = latency(raw.times);
    return [
      {
        id: `model_${id}_ms`,
        label: `model only, ${entry.id} (${spec.size}x${spec.size}x${spec.channels}), batch 1, p50`,
        value: r.p50,
        unit: 'ms',
      },
      { id: `model_${id}_p99_ms`, label: `model only, ${entry.id}, batch 1, p99`, value: r.p99, unit: 'ms' },
      ...(layers
        ? [
            {
              id: `model_${id}_layers_ms`,
              label: `model only, ${entry.id}, not compiled (model.predict), batch 1, p50`,
              value: latency(layers.times).p50,
              unit: 'ms',
            },
          ]
        : []),
      {
        id: `model_${id}_with_preprocess_ms`,
        label: `preprocess + model, ${entry.id}, batch 1, p50`,
        value: latency(full.times).p50,
        unit: 'ms',
      },
    ];
  })();
}

function loadFigures(prefix: string, what: string, r: LoadResult): Figure[] {
  const failed = r.requests - (r.status['200'] ?? 0) + r.errors;
  const statuses = Object.entries(r.status)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return [
    { id: `${prefix}_p50_ms`, label: `${what}, p50`, value: r.p50, unit: 'ms' },
    { id: `${prefix}_p99_ms`, label: `${what}, p99`, value: r.p99, unit: 'ms' },
    { id: `${prefix}_rps`, label: `${what}, requests/s`, value: r.rps, unit: 'req/s', note: `${r.requests} in ${r.seconds} s` },
    {
      id: `${prefix}_failed`,
      label: `${what}, not 200 or no answer`,
      value: failed,
      unit: 'requests',
      ...(failed ? { note: `${statuses}; errors ${r.errors}, timeouts ${r.timeouts}` } : {}),
    },
  ];
}

const section: BenchSection = {
  name: 'server',
  title: 'Demo server: model latency, POST /api/predict latency and load, memory',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const num = (key: string, fallback: number) => (ctx.options[key] != null ? Number(ctx.options[key]) : fallback);
    const loadSeconds = num('load_seconds', ctx.quick ? 4 : 20);
    const sampleSeconds = num('sample_seconds', ctx.quick ? 3 : 10);
    const memoryRequests = num('memory_requests', ctx.quick ? 500 : 5000);
    const loadImage = ctx.options.load_image === 'photo' ? 'photo' : 'face48';
    const backend = await initBackend();
    const notes: string[] = [];
    const figures: Figure[] = [];

    const models = await benchModels(ctx.options.models ?? 'models', ctx.log);
    if (models.standIn)
      notes.push('no model in models/: an untrained custom CNN of the default architecture stood in (same work, meaningless scores)');
    const images = await benchImages();
    notes.push(`backend ${backend}; images: ${images.source}`);

    // An ensemble's cost is its members' (measured here) plus averaging.
    for (const entry of models.registry.models) {
      if (entry.kind !== 'network') continue;
      ctx.log(`[bench] server: model-only latency of ${entry.id}`);
      figures.push(...(await modelFigures(entry, ctx.quick ? 20 : 100)));
    }

    const app = createApp({
      registry: models.registry,
      modelsDir: models.dir,
      rateLimitPerMinute: 0,
      queue: { maxWaiting: 64 },
      log: (m) => ctx.log(`[server] ${m}`),
    });
    const server = await listen(app, 0, '127.0.0.1');
    const url = (whole: boolean) => `${server.url}/api/predict${whole ? '?whole=1' : ''}`;
    const face48 = { url: url(true), body: images.face48, headers: { 'content-type': 'image/png' } };
    const photo = { url: url(false), body: images.photo, headers: { 'content-type': 'image/jpeg' } };
    notes.push(`default model ${models.registry.defaultId}; rate limit off, queue: 2 at once, up to 64 waiting`);
    try {
      // Warm-up, and a check that both uploads are answered with faces.
      for (const [name, req] of [
        ['48x48 face', face48],
        ['640x480 photo', photo],
      ] as const) {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(req.url, { method: 'POST', body: new Uint8Array(req.body), headers: req.headers });
          const json = (await res.json()) as { faces?: unknown[]; error?: string };
          if (res.status !== 200) throw new Error(`${name}: POST /api/predict answered ${res.status} ${json.error ?? ''}`);
          if (i === 0 && !json.faces?.length) notes.push(`${name}: no face found (the figure times a photo without one)`);
        }
      }
      const warm = processStats();

      for (const [key, what, req] of [
        ['face48', '48x48 face (?whole=1)', face48],
        ['photo', '640x480 photo, one face', photo],
      ] as const) {
        for (const clients of [1, 8]) {
          ctx.log(`[bench] server: POST /api/predict ${what}, ${clients} client(s), ${sampleSeconds} s`);
          const r = await runLoad({ ...req, clients, seconds: sampleSeconds });
          figures.push(
            ...loadFigures(
              `predict_${key}_c${clients}`,
              `POST /api/predict ${what}, ${clients === 1 ? 'sequential' : `${clients} clients`}`,
              r,
            ),
          );
        }
      }

      const load = loadImage === 'photo' ? photo : face48;
      for (const clients of LOAD_LEVELS) {
        ctx.log(`[bench] server: load, ${clients} client(s), ${loadSeconds} s`);
        const r = await runLoad({ ...load, clients, seconds: loadSeconds });
        figures.push(...loadFigures(`load_c${clients}`, `load ${loadImage}, ${clients} client(s), ${loadSeconds} s`, r));
      }

      // Memory: a fixed number of mixed requests after the warm-up figure above
      // (each client sends nine faces, then a photo, and again).
      ctx.log(`[bench] server: ${memoryRequests} mixed requests (8 clients) for the memory figures`);
      const rel = (u: string) => u.slice(server.url.length);
      const mix = [...Array(9).fill(face48), photo].map((r: typeof face48) => ({ path: rel(r.url), body: r.body, headers: r.headers }));
      const m = await runLoad({ url: server.url, clients: 8, requests: memoryRequests, mix });
      const memFailed = m.requests - (m.status['200'] ?? 0) + m.errors;
      const after = processStats();
      figures.push(
        { id: 'rss_warm_mb', label: 'RSS after warm-up', value: warm.rssMb, unit: 'MB' },
        { id: 'tensors_warm', label: 'tf.memory().numTensors after warm-up', value: warm.tensors, unit: 'tensors' },
        { id: 'fds_warm', label: 'open file handles after warm-up', value: warm.fds, unit: 'fds' },
        {
          id: 'memory_requests',
          label: 'mixed requests since (9 faces : 1 photo, 8 clients)',
          value: m.requests,
          unit: 'requests',
          note: memFailed ? `${memFailed} not 200` : `${m.rps} req/s`,
        },
        { id: 'rss_after_mb', label: `RSS after all the requests above`, value: after.rssMb, unit: 'MB' },
        { id: 'tensors_after', label: 'tf.memory().numTensors after them', value: after.tensors, unit: 'tensors' },
        { id: 'tensor_growth', label: 'tensor growth (must be 0)', value: after.tensors - warm.tensors, unit: 'tensors' },
        { id: 'fds_after', label: 'open file handles after them', value: after.fds, unit: 'fds' },
      );
      notes.push('RSS is the whole bench process: the server and autocannon share it');
    } finally {
      await server.close();
      disposeRegistry(models.registry);
      await models.cleanup();
    }
    return { figures, notes };
  },
};

export default section;
