/**
 * Private mode runs the face pipeline in the browser from static/private/prep.js.
 * Here that file runs in Node next to the server's own functions, on the demo
 * photos and the shipped models: grey conversion, face crops and model inputs
 * are identical, scores agree to 1e-6, and the detector finds the same faces
 * (its 256x256 letterbox is the one step done differently: an area average
 * here, sharp's resize on the server, so boxes differ by a few per cent).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as prep from '../../static/private/prep.js';
import { decodeImage, DEFAULT_MAX_PIXELS, type GreyImage } from '../../src/inference/decode.js';
import { cropFaces, findFaces, type FaceRegion } from '../../src/inference/faces.js';
import { facesToTensor, flipFaces } from '../../src/inference/preprocess.js';
import { predictFaces } from '../../src/inference/predict.js';
import { temperatureOf } from '../../src/inference/calibration.js';
import { loadRegistry, type ModelRegistry } from '../../src/inference/registry.js';
import { packageDir } from '../../src/inference/detect/package-dir.js';
import { readModelArtifacts } from '../../src/artifacts/model-folder.js';
import { initBackend, tf } from '../../src/tf/backend.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { demoPhoto, demoSkip, resizedJpeg } from '../helpers/face-photos.js';

const skip = demoSkip;
const PHOTOS = ['sample1', 'sample2', 'sample3', 'sample4', 'sample5', 'sample6'];
let registry: ModelRegistry;
let detector: tf.GraphModel;
const images = new Map<string, GreyImage>();
const regions = new Map<string, FaceRegion[]>();

before(async () => {
  if (skip) return;
  await initBackend();
  registry = await loadRegistry(path.join(PROJECT_ROOT, 'models'));
  const file = path.join(packageDir('@vladmandic/human')!, 'models', 'blazeface.json');
  detector = await tf.loadGraphModel(tf.io.fromMemory(await readModelArtifacts(file)));
  for (const id of PHOTOS) {
    // 640 px wide, as a camera frame: the working copy is the photo itself.
    const image = await decodeImage(await resizedJpeg(demoPhoto(id), 640, 480), { maxPixels: DEFAULT_MAX_PIXELS });
    images.set(id, image);
    regions.set(id, await findFaces(image));
  }
});

const entryOf = (id: string): prep.Entry => {
  const m = registry.get(id)!;
  if (m.kind === 'ensemble') return { members: m.members.map((x) => entryOf(x.id) as prep.Network) };
  return {
    model: m.model,
    // what the browser runs too: the same compiler (fused-model.ts), served to it by routes/private.ts
    run: m.run,
    spec: m.card.input,
    outputsProbabilities: m.outputsProbabilities,
    tta: m.card.tta === 'flip',
    temperature: temperatureOf(m.card),
  };
};

describe('private mode pipeline = the server pipeline', { skip }, () => {
  test('grey conversion is identical', () => {
    for (const image of images.values()) assert.deepEqual(prep.rgbToGrey(image.rgb), image.data);
  });

  test('the face crops are identical for the same regions', async () => {
    let n = 0;
    for (const [id, image] of images) {
      const rs = regions.get(id)!;
      const server = await cropFaces(image, rs);
      const browser = new Uint8Array(server.length);
      rs.forEach((r, i) =>
        prep.sampleRegion({ data: image.data, width: image.workWidth, height: image.workHeight }, r, 1, browser, i * prep.FACE_PIXELS),
      );
      assert.deepEqual(browser, server, id);
      n += rs.length;
    }
    assert.ok(n >= 15, `only ${n} faces in the demo photos`);
  });

  test('model inputs and scores agree for every shipped model', async () => {
    const image = images.get('sample4')!;
    const faces = await cropFaces(image, regions.get('sample4')!);
    assert.ok(registry.models.length >= 2);
    for (const m of registry.models) {
      for (const input of [faces, flipFaces(faces)]) {
        const a = facesToTensor(input, m.card.input);
        const b = prep.facesToTensor(tf, input, m.card.input);
        assert.deepEqual(b.shape, a.shape);
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
        tf.dispose([a, b]);
        assert.ok(diff <= 1e-6, `${m.id}: inputs differ by ${diff}`);
      }
      const server = predictFaces(m, faces);
      const browser = prep.predictFaces(tf, entryOf(m.id), faces);
      assert.equal(browser.length, server.length);
      server.forEach((row, i) => row.forEach((p, k) => assert.ok(Math.abs(p - browser[i][k]) <= 1e-6, `${m.id} face ${i}`)));
    }
  });

  test('the detector finds the same faces: centres within 2% and sizes within 5% of the face, roll within 0.1 rad', async () => {
    for (const [id, image] of images) {
      const server = regions.get(id)!;
      const found = await prep.detectFaces(tf, detector, image.rgb, image.workWidth, image.workHeight, 20);
      const browser = found.map((d) => prep.regionFromDetection(d, 1, image)).sort((a, b) => a.centre.x - b.centre.x);
      assert.equal(browser.length, server.length, id);
      browser.forEach((b, i) => {
        const s = server[i];
        assert.ok(Math.hypot(b.centre.x - s.centre.x, b.centre.y - s.centre.y) <= 0.02 * s.side, `${id} face ${i} centre`);
        assert.ok(Math.abs(b.side - s.side) <= 0.05 * s.side, `${id} face ${i} size`);
        assert.ok(Math.abs(b.angle - s.angle) <= 0.1, `${id} face ${i} roll`);
      });
    }
  });
});
