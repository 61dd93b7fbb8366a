// Private mode's engine: TF.js with its WebAssembly backend, BlazeFace and the
// chosen expression model, all loaded from this server once (routes/private.ts),
// then every frame is analysed here and nothing is uploaded. The face pipeline
// is the server's own code, bundled for the browser (the manifest's `pipeline`,
// src/inference/browser/pipeline.ts); this file only loads things and calls it.
// loadPrivate() is memoised: the camera and the tests share one runtime.

let loading = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = false;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(s);
  });
}

async function start(base) {
  if (typeof WebAssembly !== 'object') throw new Error('this browser has no WebAssembly');
  const res = await fetch(`${base}/private/manifest.json`, { headers: { Accept: 'application/json' } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.error || `the server does not offer private mode (${res.status})`);
  }
  const manifest = await res.json();
  if (!window.tf) for (const src of manifest.tf.scripts) await loadScript(src);
  const tf = window.tf;
  if (!tf || !tf.wasm) throw new Error('TF.js did not load');
  tf.wasm.setWasmPaths(manifest.tf.wasm);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend did not start');
  await tf.ready();
  // The page's tf must be there first: the bundle takes it as its TF.js.
  const pipeline = await import(manifest.pipeline);
  const detector = pipeline.faceDetector(await tf.loadGraphModel(manifest.detector.url));
  const entries = new Map();

  /** The model `id` (or the default), loaded on first use, compiled where it can be and warmed up. */
  function entry(id) {
    const info = manifest.models.find((m) => m.id === id) || manifest.models.find((m) => m.id === manifest.default);
    if (!entries.has(info.id)) {
      entries.set(
        info.id,
        info.members
          ? Promise.all(info.members.map(entry)).then((members) => pipeline.browserEnsemble(info.id, members))
          : tf.loadLayersModel(info.url).then((model) => pipeline.browserNetwork(info, model)),
      );
    }
    return entries.get(info.id);
  }
  await entry(manifest.default);
  // One detector run compiles its kernels now rather than on the first frame.
  await detector.detect({ data: new Uint8Array(64 * 48 * 3), width: 64, height: 48, channels: 3 }, { maxFaces: 1 });

  return {
    backend: tf.getBackend(),
    models: manifest.models.map((m) => m.id),
    defaultModel: manifest.default,
    /** Faces in a canvas (its whole area), like POST /api/predict's answer. */
    async analyseCanvas(canvas, modelId) {
      const t0 = performance.now();
      const { width, height } = canvas;
      const rgba = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, width, height).data;
      const e = await entry(modelId);
      const faces = await pipeline.analysePixels(detector, e, pipeline.rgbaToRgb(rgba), width, height, manifest.detector.maxFaces);
      return { model: e.id, image: { width, height }, faces, ms: Math.round((performance.now() - t0) * 10) / 10 };
    },
    /** Whether model `modelId` (each member, for an ensemble) runs compiled: ids of the compiled networks. */
    async compiledModels(modelId) {
      const e = await entry(modelId);
      return (e.members || [e]).filter((m) => m.compiled).map((m) => m.id);
    },
    /** Scores for ready 48x48 grey faces (n x 2304 values): the same step as the server's predictFaces. */
    async scoreFaces(modelId, faces) {
      return pipeline.predictFaces(await entry(modelId), Uint8Array.from(faces)).map((row) => Array.from(row));
    },
  };
}

/** The runtime, or a rejection saying why private mode cannot run here. */
export function loadPrivate(base = '') {
  if (!loading) {
    loading = start(base);
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}
