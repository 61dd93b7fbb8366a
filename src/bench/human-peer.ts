/**
 * The peer for the face figures: @vladmandic/human's own detect-and-emotion
 * pipeline (BlazeFace -> face mesh -> its FER2013 mini-Xception emotion
 * model), run in this process on our TF.js and wasm backend, with the weights
 * from its installed package (models/*.json), never from the network.
 *
 * human's node-wasm build loads models with fetch(), which cannot read
 * file:// URLs; a TF.js load router for file:// (what tfjs-node would
 * provide) serves them from disk instead. Frame skipping and result caching
 * are turned off so every call does the full work.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { tf } from '../tf/backend.js';
import { readModelArtifacts } from '../artifacts/model-folder.js';
import { packageDir, packageVersion } from '../inference/detect/package-dir.js';

const require = createRequire(import.meta.url);

export interface HumanPeer {
  source: string;
  /** JPEG/PNG bytes -> faces found with their top emotion (decoded with sharp, as we do). */
  analyse(bytes: Uint8Array): Promise<Array<{ box: number[]; emotion: string | null }>>;
}

interface HumanResult {
  face: Array<{ box: number[]; emotion?: Array<{ emotion: string; score: number }> }>;
  error?: string | null;
}
interface HumanInstance {
  load(): Promise<void>;
  detect(input: tf.Tensor): Promise<HumanResult>;
}

let routerRegistered = false;

/** Lets tf.loadGraphModel('file:///...json') read from disk (only if nothing else does). */
function registerFileRouter(): void {
  if (routerRegistered || tf.io.getLoadHandlers('file:///probe.json').length > 0) return;
  // TF.js routers return null for "not mine"; its IORouter type does not say so.
  const router = (url: string | string[]): tf.io.IOHandler | null =>
    typeof url === 'string' && url.startsWith('file://') ? { load: () => readModelArtifacts(fileURLToPath(url)) } : null;
  tf.io.registerLoadRouter(router as Parameters<typeof tf.io.registerLoadRouter>[0]);
  routerRegistered = true;
}

export async function loadHumanPeer(): Promise<HumanPeer> {
  const dir = packageDir('@vladmandic/human');
  if (!dir) throw new Error('@vladmandic/human is not installed');
  const models = path.join(dir, 'models');
  for (const f of ['blazeface.json', 'facemesh.json', 'emotion.json']) {
    if (!fs.existsSync(path.join(models, f))) throw new Error(`${f} is missing from the installed @vladmandic/human`);
  }
  registerFileRouter();
  const { Human } = require(path.join(dir, 'dist', 'human.node-wasm.js')) as { Human: new (config: object) => HumanInstance };
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
  const off = { enabled: false };
  const human = new Human({
    backend: tf.getBackend(),
    wasmPath: wasmDir,
    modelBasePath: pathToFileURL(models).href + '/',
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    filter: off,
    face: {
      enabled: true,
      detector: { rotation: false, maxDetected: 20, skipFrames: 0, skipTime: 0, return: false },
      mesh: { enabled: true },
      emotion: { enabled: true, skipFrames: 0, skipTime: 0 },
      iris: off,
      description: off,
      antispoof: off,
      liveness: off,
      attention: off,
    },
    body: off,
    hand: off,
    object: off,
    gesture: off,
    segmentation: off,
  });
  await human.load();
  return {
    source: `@vladmandic/human@${packageVersion(dir)} (blazeface + facemesh + emotion)`,
    async analyse(bytes) {
      const { data, info } = await sharp(bytes).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const input = tf.tensor4d(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), [1, info.height, info.width, 3], 'int32');
      try {
        const r = await human.detect(input);
        if (r.error) throw new Error(`human: ${r.error}`);
        return r.face.map((f) => ({ box: f.box, emotion: f.emotion?.[0]?.emotion ?? null }));
      } finally {
        input.dispose();
      }
    },
  };
}
