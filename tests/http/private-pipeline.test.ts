/**
 * Private mode runs the server's own face pipeline: GET /private/pipeline.js is
 * src/inference/browser/pipeline.ts and the server modules it imports, bundled
 * for the browser. Here the served bundle runs in Node (Node's TF.js standing
 * in for the page's) next to the server's pipeline, on the demo photos and the
 * shipped models: given the server's detections it gives the very boxes and
 * scores the server gives; with its own detector (whose 256x256 letterbox is an
 * area average instead of sharp's resize, the one step done differently) it
 * finds the same faces within a few per cent. The bundle holds nothing of the
 * server (no sharp, no node: modules, no packages), and a module that would
 * bring them in fails the build, which the route reports as a 500. Its compiler
 * (fused-model.ts) compiles every shipped model to the server's very answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeImage, DEFAULT_MAX_PIXELS, type GreyImage } from '../../src/inference/decode.js';
import { cropFaces, findFaces, type FaceRegion } from '../../src/inference/faces.js';
import { getFaceDetector, type Detection, type FaceDetector } from '../../src/inference/detect/index.js';
import { regionsFromDetections } from '../../src/inference/align.js';
import { averageRows, predictFaces } from '../../src/inference/predict.js';
import type { LoadedNetwork } from '../../src/inference/registry.js';
import { packageDir } from '../../src/inference/detect/package-dir.js';
import { readModelArtifacts } from '../../src/artifacts/model-folder.js';
import { tf } from '../../src/tf/backend.js';
import { buildPipelineBundle } from '../../src/server/private-bundle.js';
import { privateRoutes } from '../../src/server/http/routes/private.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { demoPhoto, demoSkip, resizedJpeg } from '../helpers/face-photos.js';
import { importServedPipeline, privateManifest, type PrivateManifest, type ServedPipeline } from '../helpers/private-pipeline.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PHOTOS = ['sample1', 'sample2', 'sample3', 'sample4', 'sample5', 'sample6'];
let server: TestServer;
let manifest: PrivateManifest;
let served: ServedPipeline;

before(async () => {
  server = await startTestServer(path.join(PROJECT_ROOT, 'models'), { privateMode: true, rateLimitPerMinute: 0 });
  manifest = await privateManifest(server.url);
  served = await importServedPipeline(server.url);
});

after(async () => {
  await server?.close();
});

describe('the pipeline bundle', () => {
  test('served as one script, named by the manifest, cached with an ETag', async () => {
    assert.equal(manifest.pipeline, '/private/pipeline.js');
    const res = await fetch(server.url + manifest.pipeline);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /max-age/);
    const tag = res.headers.get('etag');
    assert.ok(tag, 'an ETag');
    const again = await fetch(server.url + manifest.pipeline, { headers: { 'If-None-Match': tag } });
    assert.equal(again.status, 304);
    const code = await res.text();
    for (const name of [
      'analysePixels',
      'faceDetector',
      'browserNetwork',
      'browserEnsemble',
      'predictFaces',
      'rgbaToRgb',
      'compileChecked',
    ]) {
      assert.equal(typeof (served as Record<string, unknown>)[name], 'function', name);
      assert.match(code, new RegExp(`export \\{[^}]*\\b${name}\\b`), name);
    }
  });

  test('it holds the server’s modules and nothing only the server can run', async () => {
    const code = await (await fetch(server.url + manifest.pipeline)).text();
    assert.doesNotMatch(code, /^\s*import\b|\bimport\s*\(|\brequire\s*\(/m, 'no imports: the browser has nothing to resolve them with');
    assert.doesNotMatch(code, /["'](node:[^"']*|sharp|fs|path|os|@tensorflow\/[^"']*)["']/, 'no Node module or package named');
    const { inputs } = await buildPipelineBundle();
    for (const shared of [
      'src/inference/pixels.ts',
      'src/inference/detect/blazeface-decode.ts',
      'src/inference/detect/overlap.ts',
      'src/inference/align.ts',
      'src/inference/preprocess.ts',
      'src/inference/predict.ts',
      'src/inference/calibration.ts',
      'src/inference/ready-network.ts',
      'src/inference/fused-model.ts',
    ])
      assert.ok(inputs.includes(shared), `${shared} is in the bundle`);
    assert.ok(inputs.includes('src/tf/page-tf.ts') && !inputs.includes('src/tf/backend.ts'), 'TF.js is the page’s');
    assert.deepEqual(
      inputs.filter((f) => !f.startsWith('src/')),
      [],
    );
  });

  test('a module that needs the server fails the build, naming it; the route answers 500 and the server goes on', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-entry-'));
    try {
      // decode.ts is sharp's: a shared module that started to import it would end here.
      const entry = path.join(dir, 'entry.ts');
      const decode = path.relative(dir, path.join(PROJECT_ROOT, 'src', 'inference', 'decode.js'));
      await fs.writeFile(entry, `export { decodeImage } from '${decode.split(path.sep).join('/')}';\n`);
      await assert.rejects(buildPipelineBundle(entry), /could not be built: .*sharp \(imported by src\/inference\/decode\.ts\)/);
      const app = privateRoutes({ registry: server.registry, base: '', maxFaces: 20, pipelineEntry: entry });
      const res = await app.request('/private/pipeline.js');
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { error: string }).error, /pipeline could not be built: .*sharp/);
      assert.equal((await fetch(server.url + manifest.pipeline)).status, 200);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the inference compiler for the browser', () => {
  // The bundle carries src/inference/fused-model.ts: its compileChecked compiles every shipped
  // model to the very answers the server gives (it is the same source).
  test('the served bundle compiles a shipped model to the server’s answers', () => {
    for (const entry of server.registry.models) {
      if (entry.kind !== 'network') continue;
      const compiled = served.compileChecked(tf, entry.model, entry.card.input);
      assert.ok(compiled, `${entry.id} compiles with the served script`);
      const { size, channels } = entry.card.input;
      const x = tf.randomUniform([3, size, size, channels], 0, 1, 'float32', 2) as tf.Tensor4D;
      const same = tf.tidy(() => tf.max(tf.abs(tf.sub(compiled.run(x), entry.run(x)))).dataSync()[0]);
      assert.equal(same, 0, `${entry.id}: the served compiler answers as the server's`);
      compiled.dispose();
      x.dispose();
    }
  });
});

describe('private mode pipeline = the server pipeline', { skip: demoSkip }, () => {
  const images = new Map<string, GreyImage>();
  const regions = new Map<string, FaceRegion[]>();
  const detections = new Map<string, Detection[]>();
  let detector: FaceDetector;
  const networks = new Map<string, ReturnType<ServedPipeline['browserNetwork']>>();
  /** Every shipped model as the browser builds it (networks, and ensembles of them as runtime.js makes them). */
  const entries = new Map<string, Parameters<ServedPipeline['predictFaces']>[0]>();

  before(async () => {
    detector = await getFaceDetector();
    for (const id of PHOTOS) {
      // 640 px wide, as a camera frame: the working copy is the photo itself.
      const image = await decodeImage(await resizedJpeg(demoPhoto(id), 640, 480), { maxPixels: DEFAULT_MAX_PIXELS });
      images.set(id, image);
      regions.set(id, await findFaces(image));
      detections.set(
        id,
        await detector.detect({ data: image.rgb, width: image.workWidth, height: image.workHeight, channels: 3 }, { maxFaces: 20 }),
      );
    }
    // The networks as the browser builds them: the manifest's card fields and the same weights.
    for (const m of server.registry.models) {
      if (m.kind !== 'network') continue;
      const info = manifest.models.find((x) => x.id === m.id)!;
      networks.set(m.id, served.browserNetwork(info, m.model));
    }
    for (const m of server.registry.models) {
      entries.set(
        m.id,
        m.kind === 'network'
          ? networks.get(m.id)!
          : served.browserEnsemble(
              m.id,
              m.members.map((x) => networks.get(x.id)!),
            ),
      );
    }
  });

  test('given the server’s detections, the boxes and scores are the server’s, for every shipped model', async () => {
    let n = 0;
    assert.ok(networks.size >= 2);
    for (const [id, image] of images) {
      const same: FaceDetector = { ...detector, detect: async () => detections.get(id)! };
      const faces = await cropFaces(image, regions.get(id)!);
      for (const m of server.registry.models) {
        const browser = await served.analysePixels(same, entries.get(m.id)!, image.rgb, image.workWidth, image.workHeight, 20);
        const rows = predictFaces(m, faces);
        assert.deepEqual(
          browser.map((f) => f.box),
          regions.get(id)!.map((r) => r.box),
          `${id} boxes`,
        );
        rows.forEach((row, i) =>
          row.forEach((p, k) => assert.ok(Math.abs(p - Object.values(browser[i].scores)[k]) <= 1e-6, `${m.id} ${id} face ${i}`)),
        );
      }
      n += regions.get(id)!.length;
    }
    assert.ok(n >= 15, `only ${n} faces in the demo photos`);
  });

  test('scores of the same faces agree to 1e-6, an ensemble of the two too', async () => {
    const parts: Uint8Array[] = [];
    for (const [id, image] of images) parts.push(await cropFaces(image, regions.get(id)!));
    const faces = Buffer.concat(parts);
    const members = [...networks.values()];
    const rows = (entry: Parameters<ServedPipeline['predictFaces']>[0]) => served.predictFaces(entry, faces);
    const ensemble = averageRows(members.map((b) => predictFaces(server.registry.get(b.id) as LoadedNetwork, faces)));
    const pairs: Array<[string, Float32Array[], Float32Array[]]> = [
      ...members.map((b): [string, Float32Array[], Float32Array[]] => [b.id, rows(b), predictFaces(server.registry.get(b.id)!, faces)]),
      ['ensemble', rows(served.browserEnsemble('ensemble', members)), ensemble],
    ];
    for (const [id, browser, serverRows] of pairs) {
      let worst = 0;
      serverRows.forEach((row, i) => row.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - browser[i][k])))));
      assert.equal(browser.length, serverRows.length);
      assert.ok(worst <= 1e-6, `${id}: scores differ by ${worst}`);
    }
  });

  test('its own detector finds the same faces: centres within 2% and sizes within 5% of the face, roll within 0.1 rad', async () => {
    const file = path.join(packageDir('@vladmandic/human')!, 'models', 'blazeface.json');
    const own = served.faceDetector(await tf.loadGraphModel(tf.io.fromMemory(await readModelArtifacts(file))));
    try {
      for (const [id, image] of images) {
        const rgb = { data: image.rgb, width: image.workWidth, height: image.workHeight, channels: 3 as const };
        const browser = regionsFromDetections(await own.detect(rgb, { maxFaces: 20 }), 1, image, own.margin);
        const serverRegions = regions.get(id)!;
        assert.equal(browser.length, serverRegions.length, id);
        browser.forEach((b, i) => {
          const s = serverRegions[i];
          assert.ok(Math.hypot(b.centre.x - s.centre.x, b.centre.y - s.centre.y) <= 0.02 * s.side, `${id} face ${i} centre`);
          assert.ok(Math.abs(b.side - s.side) <= 0.05 * s.side, `${id} face ${i} size`);
          assert.ok(Math.abs(b.angle - s.angle) <= 0.1, `${id} face ${i} roll`);
        });
        // The whole path, as the camera calls it: RGBA in, one answer a face.
        const rgba = new Uint8Array((image.rgb.length / 3) * 4);
        for (let p = 0, q = 0; p < image.rgb.length; p += 3, q += 4) rgba.set(image.rgb.subarray(p, p + 3), q);
        const answer = await served.analysePixels(
          own,
          entries.get(manifest.default)!,
          served.rgbaToRgb(rgba),
          image.workWidth,
          image.workHeight,
          20,
        );
        assert.deepEqual(
          answer.map((f) => f.box),
          browser.map((r) => r.box),
          `${id}: analysePixels's boxes`,
        );
      }
    } finally {
      own.dispose();
    }
  });
});
