/**
 * Every face found, boxed and classified. Real group photos from an
 * npm package's demo folder (number of faces, boxes inside the photo, one
 * result per face), the whole-image choice for an already cropped face, a
 * photo with no face, close-ups (a face filling the photo), roll correction, Grad-CAM maps and mirror averaging.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { regionFromDetection, rollFromEyes, sampleRegion } from '../../src/inference/align.js';
import { decodeImage } from '../../src/inference/decode.js';
import { PAD, padImage, withCloseUps } from '../../src/inference/detect/close-up.js';
import { overlapOfSmaller, suppressContained } from '../../src/inference/detect/overlap.js';
import { disposeFaceDetectors } from '../../src/inference/detect/index.js';
import { findFaces } from '../../src/inference/faces.js';
import { buildCamModel, gradCam } from '../../src/inference/gradcam.js';
import { predictFaces } from '../../src/inference/predict.js';
import { flipFaces } from '../../src/inference/preprocess.js';
import { examplesFrom } from '../../src/server/present/examples.js';
import { buildCustomCnn } from '../../src/training/architectures/custom-cnn.js';
import { buildMobileNetV2 } from '../../src/training/architectures/mobilenetv2.js';
import { tf } from '../../src/tf/backend.js';
import { FACE_SIZE, LABELS } from '../../src/types.js';
import { DEMO_FACES, demoCases, demoPhoto, matchFaces, demoSkip, ferLikeFacePng, gradientJpeg } from '../helpers/face-photos.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DECODE = { maxPixels: 50_000_000 };
const skip = demoSkip;

interface ApiFace {
  box: { x: number; y: number; width: number; height: number };
  label: string;
  scores: Record<string, number>;
  heatmap?: string;
}
interface ApiBody {
  model: string;
  image: { width: number; height: number };
  faces: ApiFace[];
  face_source: string;
  message?: string;
  ms: number;
}

let models: TestModels;
let server: TestServer;
let gradientFile: string;

before(async () => {
  models = await makeTestModels();
  gradientFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-noface-')), 'blank.jpg');
  await fs.writeFile(gradientFile, await gradientJpeg());
  // The example strip holds one photo without a face, to see the offer for an example.
  server = await startTestServer(models.dir, { examples: examplesFrom([{ id: 'blank', alt: 'A grey gradient', file: gradientFile }]) });
});
after(async () => {
  await server?.close();
  await models?.cleanup();
  await fs.rm(path.dirname(gradientFile), { recursive: true, force: true });
  await disposeFaceDetectors();
});

async function api(bytes: Uint8Array, query = ''): Promise<{ status: number; body: ApiBody }> {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'photo.jpg');
  const res = await fetch(`${server.url}/api/predict${query}`, { method: 'POST', body: fd });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

async function page(fields: Record<string, string | Uint8Array>): Promise<{ status: number; html: string }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') fd.append(k, v);
    else fd.append(k, new Blob([new Uint8Array(v)], { type: 'image/jpeg' }), 'photo.jpg');
  }
  const res = await fetch(`${server.url}/predict`, { method: 'POST', body: fd, headers: { 'HX-Request': 'true' } });
  return { status: res.status, html: await res.text() };
}

function assertInside(box: ApiFace['box'], image: { width: number; height: number }, what: string): void {
  assert.ok(box.x >= 0 && box.y >= 0, `${what}: box starts inside the photo`);
  assert.ok(box.width > 0 && box.height > 0, `${what}: box has a size`);
  assert.ok(
    box.x + box.width <= image.width && box.y + box.height <= image.height,
    `${what}: box ends inside the photo (${JSON.stringify(box)} in ${image.width}x${image.height})`,
  );
}

describe('face detection on real group photos', { skip }, () => {
  for (const [id, count] of Object.entries(DEMO_FACES)) {
    test(`${id}: finds its ${count} faces, boxes inside the photo, left to right`, async () => {
      const image = await decodeImage(demoPhoto(id), DECODE);
      const regions = await findFaces(image);
      assert.equal(regions.length, count);
      for (const r of regions) {
        assertInside(r.box, image, id);
        assert.ok(Number.isFinite(r.angle) && Math.abs(r.angle) < Math.PI / 2, 'roll is a sane angle');
        assert.ok(r.score !== null && r.score > 0 && r.score <= 1);
      }
      for (let i = 1; i < regions.length; i++) assert.ok(regions[i - 1].centre.x <= regions[i].centre.x, 'numbered left to right');
      // Faces do not overlap much: one box per person, not two.
      for (let i = 0; i < regions.length; i++) {
        for (let j = i + 1; j < regions.length; j++) {
          const a = regions[i].box;
          const b = regions[j].box;
          const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
          const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
          assert.ok(ix * iy < 0.5 * Math.min(a.width * a.height, b.width * b.height), `${id}: faces ${i + 1} and ${j + 1} overlap`);
        }
      }
    });
  }

  test('the API returns one result per face, and max_faces caps them', async () => {
    const { status, body } = await api(demoPhoto('sample5'));
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.faces.length, 5);
    assert.equal(body.face_source, 'blazeface');
    assert.equal(body.message, undefined);
    for (const f of body.faces) {
      assertInside(f.box, body.image, 'sample5');
      assert.deepEqual(Object.keys(f.scores), [...LABELS]);
      assert.ok(Math.abs(Object.values(f.scores).reduce((a, b) => a + b, 0) - 1) < 1e-4);
      assert.ok(LABELS.includes(f.label as (typeof LABELS)[number]));
      assert.equal(f.heatmap, undefined, 'no heatmap unless asked for');
    }
    // Detection, cropping and explaining leave no tensors behind.
    await api(demoPhoto('sample5'), '?explain=1');
    const tensors = tf.memory().numTensors;
    await api(demoPhoto('sample5'), '?explain=1');
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak per request');
    const capped = await api(demoPhoto('sample5'), '?max_faces=2');
    assert.equal(capped.body.faces.length, 2);
    const bad = await api(demoPhoto('sample5'), '?max_faces=zero');
    assert.equal(bad.status, 400);
    assert.match((bad.body as unknown as { error: string }).error, /max_faces/);
  });

  test('the page draws a numbered, coloured box per face over the photo, and bars per face', async () => {
    const res = await page({ image: demoPhoto('sample1'), model: 'tiny-a' });
    assert.equal(res.status, 200);
    assert.match(res.html, /<img class="photo" src="data:image\/jpeg;base64,/);
    assert.equal(res.html.match(/<rect class="face-box expr-(angry|disgust|fear|happy|sad|surprise|neutral)"/g)?.length, 3);
    for (const n of [1, 2, 3]) assert.match(res.html, new RegExp(`text-anchor="middle">${n}</text>`));
    assert.equal(res.html.match(/<article class="face"/g)?.length, 3);
    assert.equal(res.html.match(/<meter /g)?.length, 21);
    assert.match(res.html, /faces found by blazeface/);
  });
});

describe('close-ups: a face that fills the photo gets one box', { skip }, () => {
  for (const [set, detector] of [
    ['tight', 'blazeface'],
    ['margin', 'blazeface'],
    ['tight', 'ssd'],
    ['margin', 'ssd'],
  ] as const) {
    test(`${detector}: each of the 22 faces cut out ${set === 'tight' ? 'tightly' : 'with a 30% margin'}: found, and no other box`, async () => {
      const cases = await demoCases(set);
      assert.equal(cases.length, 22);
      const wrong: string[] = [];
      for (const c of cases) {
        const image = await decodeImage(c.bytes, DECODE);
        const regions = await findFaces(image, { detector });
        const m = matchFaces(
          c.faces,
          regions.map((r) => r.box),
        );
        if (m.found !== 1 || m.extra !== 0) wrong.push(`${c.name}: ${regions.length} box(es) ${JSON.stringify(regions.map((r) => r.box))}`);
        for (const r of regions) assertInside(r.box, image, c.name);
      }
      assert.deepEqual(wrong, []);
    });
  }

  test('a half-face box inside a whole-face box is dropped; faces side by side are kept', () => {
    const whole = { x: 0, y: 0, width: 200, height: 200, score: 0.9 };
    const half = { x: 0, y: 20, width: 120, height: 150, score: 0.5 };
    // Their IoU is only 0.45: plain non-max suppression at 0.3 keeps both, which is why this step exists.
    assert.ok(overlapOfSmaller(whole, half) > 0.99);
    assert.deepEqual(suppressContained([half, whole], 20), [whole]);
    // Better-scoring half box: the whole-face box around it still goes (one box per face).
    assert.deepEqual(suppressContained([{ ...half, score: 0.95 }, whole], 20).length, 1);
    const neighbour = { x: 180, y: 0, width: 200, height: 200, score: 0.8 };
    assert.deepEqual(suppressContained([whole, neighbour], 20), [whole, neighbour]);
    assert.equal(suppressContained([whole, neighbour], 1).length, 1, 'maxFaces still caps');
  });

  test('the second look pads with grey and maps boxes back to the photo', async () => {
    const image = { data: new Uint8Array(4 * 2 * 3).fill(9), width: 4, height: 2, channels: 3 as const };
    const { padded, offsetX, offsetY } = padImage(image, 0.5);
    assert.deepEqual([padded.width, padded.height, offsetX, offsetY], [8, 8, 2, 3]);
    assert.equal(padded.data[(3 * 8 + 2) * 3], 9, 'the photo sits at the offset');
    assert.equal(padded.data[0], 128, 'grey around it');
    // A detector that sees one face filling the frame: it is asked again on the padded copy.
    const calls: number[] = [];
    const fake = {
      name: 'fake',
      source: 'test',
      margin: 1,
      async detect(p: { width: number }) {
        calls.push(p.width);
        return calls.length === 1
          ? [
              { x: 0, y: 0, width: 4, height: 2, score: 0.9 },
              { x: 0, y: 0, width: 2, height: 2, score: 0.5 },
            ]
          : [{ x: 3, y: 4, width: 3, height: 2, score: 0.9, rightEye: { x: 4, y: 5 } }];
      },
      dispose() {},
    };
    const found = await withCloseUps(fake).detect(image, { maxFaces: 5 });
    const second = padImage(image, PAD);
    assert.deepEqual(calls, [4, second.padded.width]);
    const o = { x: second.offsetX, y: second.offsetY };
    assert.deepEqual(found, [{ x: 3 - o.x, y: 4 - o.y, width: 3, height: 2, score: 0.9, rightEye: { x: 4 - o.x, y: 5 - o.y } }]);

    // A detector with its own close-up settings gets its border and its lower bar on the second look only;
    // when that shows nothing, the default border is tried with the usual bar.
    const asked: Array<{ width: number; minScore?: number }> = [];
    const own = {
      ...fake,
      closeUp: { pad: 0.5, minScore: 0.3 },
      async detect(p: { width: number }, o: { minScore?: number }) {
        asked.push({ width: p.width, ...(o.minScore === undefined ? {} : { minScore: o.minScore }) });
        return [];
      },
    };
    assert.deepEqual(await withCloseUps(own).detect(image, { maxFaces: 5 }), []);
    assert.deepEqual(asked, [
      { width: 4 },
      { width: padImage(image, 0.5).padded.width, minScore: 0.3 },
      { width: padImage(image, PAD).padded.width },
    ]);
  });
});

describe('an already cropped face: whole=1', { skip }, () => {
  test('a 48x48 FER2013-like face is classified as one face filling the image', async () => {
    const png = await ferLikeFacePng();
    const { status, body } = await api(png, '?whole=1');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.faces.length, 1);
    assert.deepEqual(body.faces[0].box, { x: 0, y: 0, width: 48, height: 48 });
    assert.equal(body.face_source, 'whole-image');
    // The same as a form field, on the page.
    const res = await page({ image: png, whole: '1', model: 'tiny-a' });
    assert.equal(res.html.match(/<article class="face"/g)?.length, 1);
    assert.match(res.html, /the whole image as one face/);
  });

  test('the crop the model sees is the image itself, pixel for pixel', async () => {
    const png = await ferLikeFacePng();
    const image = await decodeImage(png, DECODE);
    const [region] = await findFaces(image, { whole: true });
    const out = new Uint8Array(FACE_SIZE * FACE_SIZE);
    sampleRegion({ data: image.data, width: image.workWidth, height: image.workHeight }, region, 1, out, 0);
    const maxDiff = out.reduce((m, v, i) => Math.max(m, Math.abs(v - image.data[i])), 0);
    assert.ok(maxDiff <= 1, `differs by ${maxDiff}`);
  });
});

describe('a photo with no face', () => {
  test('the API says so plainly and names the whole-image option', async () => {
    const { status, body } = await api(await gradientJpeg());
    assert.equal(status, 200);
    assert.deepEqual(body.faces, []);
    assert.match(body.message ?? '', /No face was found/);
    assert.match(body.message ?? '', /whole=1/);
    const whole = await api(await gradientJpeg(), '?whole=1');
    assert.equal(whole.body.faces.length, 1);
    assert.deepEqual(whole.body.faces[0].box, { x: 80, y: 0, width: 480, height: 480 });
  });

  test('the page says so and offers to classify the whole image (upload and example)', async () => {
    const upload = await page({ image: await gradientJpeg(), model: 'tiny-a' });
    assert.match(upload.html, /No face was found in this photo/);
    // An upload: the button re-submits the main form (the file is still chosen) with whole=1.
    assert.match(upload.html, /<button type="submit" form="predict-form" name="whole" value="1"/);
    assert.doesNotMatch(upload.html, /<article class="face"/);
    // An example: a small form of its own names the example.
    const example = await page({ example: 'blank', model: 'tiny-a', explain: '1' });
    assert.match(example.html, /<form class="whole-offer" action="\/predict"/);
    for (const [name, value] of [
      ['example', 'blank'],
      ['model', 'tiny-a'],
      ['explain', '1'],
      ['whole', '1'],
    ]) {
      assert.match(example.html, new RegExp(`<input type="hidden" name="${name}" value="${value}">`));
    }
    // Following the offer gives one face.
    const followed = await page({ example: 'blank', model: 'tiny-a', whole: '1' });
    assert.equal(followed.html.match(/<article class="face"/g)?.length, 1);
  });
});

describe('alignment', () => {
  test('roll comes from the eyes, and the crop is turned so they are level', () => {
    assert.equal(rollFromEyes({ x: 0, y: 0 }, { x: 10, y: 0 }), 0);
    assert.ok(Math.abs(rollFromEyes({ x: 0, y: 0 }, { x: 10, y: 10 }) - Math.PI / 4) < 1e-9);
    // A 200x200 dark image with a bright bar through the centre at 30 degrees.
    const size = 200;
    const angle = Math.PI / 6;
    const data = new Uint8Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d = Math.abs(-(x + 0.5 - 100) * Math.sin(angle) + (y + 0.5 - 100) * Math.cos(angle)); // distance to the bar's axis
        data[y * size + x] = d < 6 ? 255 : 0;
      }
    }
    const eyes = {
      rightEye: { x: 100 - 30 * Math.cos(angle), y: 100 - 30 * Math.sin(angle) },
      leftEye: { x: 100 + 30 * Math.cos(angle), y: 100 + 30 * Math.sin(angle) },
    };
    const region = regionFromDetection({ x: 60, y: 60, width: 80, height: 80, score: 1, ...eyes }, 1, { width: size, height: size }, 1);
    assert.ok(Math.abs(region.angle - angle) < 1e-9);
    const out = new Uint8Array(FACE_SIZE * FACE_SIZE);
    sampleRegion({ data, width: size, height: size }, region, 1, out, 0);
    const row = (y: number) => out.subarray(y * FACE_SIZE, (y + 1) * FACE_SIZE).reduce((a, b) => a + b, 0) / FACE_SIZE;
    assert.ok(row(FACE_SIZE / 2) > 200, `the bar is level across the middle (mean ${row(FACE_SIZE / 2)})`);
    assert.ok(row(4) < 20 && row(FACE_SIZE - 5) < 20, 'and nowhere else');
    // Unturned, the same region cuts across the bar instead.
    const flat = new Uint8Array(FACE_SIZE * FACE_SIZE);
    sampleRegion({ data, width: size, height: size }, { ...region, angle: 0 }, 1, flat, 0);
    const flatRow = flat.subarray((FACE_SIZE / 2) * FACE_SIZE, (FACE_SIZE / 2 + 1) * FACE_SIZE).reduce((a, b) => a + b, 0) / FACE_SIZE;
    assert.ok(flatRow < 150);
  });
});

describe('Grad-CAM', () => {
  test('one 48x48 map per face: finite, in 0-1, not constant', async () => {
    const entry = server.registry.get('tiny-a')!;
    assert.equal(entry.kind, 'network');
    if (entry.kind === 'network') assert.equal(buildCamModel(entry.model).layer, 'block2_conv1_relu');
    const faces = new Uint8Array(2 * FACE_SIZE * FACE_SIZE);
    const png = await facePng(48);
    faces.set(await sharp(png).greyscale().raw().toBuffer(), 0);
    faces.set(
      flipFaces(faces.subarray(0, FACE_SIZE * FACE_SIZE)).map((v) => 255 - v),
      FACE_SIZE * FACE_SIZE,
    );
    const before = tf.memory().numTensors;
    const maps = gradCam(entry, faces, [3, 0]);
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.equal(maps.length, 2 * FACE_SIZE * FACE_SIZE);
    for (let i = 0; i < 2; i++) {
      const m = maps.subarray(i * FACE_SIZE * FACE_SIZE, (i + 1) * FACE_SIZE * FACE_SIZE);
      assert.ok(
        m.every((v) => Number.isFinite(v) && v >= 0 && v <= 1 + 1e-6),
        'finite, 0-1',
      );
      assert.ok(Math.max(...m) - Math.min(...m) > 0.1, `map ${i} is not constant`);
    }
  });

  test('MobileNetV2: explains out_relu through its pooling head', () => {
    const model = buildMobileNetV2({ inputSize: 64 });
    try {
      const cam = buildCamModel(model);
      assert.equal(cam.layer, 'out_relu');
      assert.deepEqual(cam.features.outputs[0].shape, [null, 2, 2, 1280]);
    } finally {
      model.dispose();
    }
  });

  test('?explain=1 adds a heatmap PNG per face', { skip }, async () => {
    const { status, body } = await api(demoPhoto('sample3'), '?explain=1&model=tiny-b');
    assert.equal(status, 200);
    assert.equal(body.faces.length, 3);
    for (const f of body.faces) {
      assert.match(f.heatmap ?? '', /^data:image\/png;base64,/);
      const meta = await sharp(Buffer.from(f.heatmap!.split(',')[1], 'base64')).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels], [48, 48, 4]);
    }
    const html = (await page({ image: demoPhoto('sample3'), explain: '1', model: 'tiny-b' })).html;
    assert.match(html, /<input type="checkbox" id="heat-toggle" class="heat-toggle" checked>/);
    assert.equal(html.match(/<image class="heat"/g)?.length, 3, 'a heatmap over each box');
    assert.equal(html.match(/<img class="heat heat-crop"/g)?.length, 3, 'and over each crop');
  });
});

describe('mirror averaging (TTA)', () => {
  test('tta averages a face with its mirror image; a request can turn it on or off', async () => {
    const entry = server.registry.get('tiny-a')!;
    const face = new Uint8Array(
      await sharp(await facePng(48))
        .greyscale()
        .raw()
        .toBuffer(),
    );
    face[5] = 255; // make it asymmetric
    const plain = predictFaces(entry, face, { tta: false })[0];
    const mirrored = predictFaces(entry, Uint8Array.from(flipFaces(face)), { tta: false })[0];
    const tta = predictFaces(entry, face, { tta: true })[0];
    for (let k = 0; k < LABELS.length; k++) assert.ok(Math.abs(tta[k] - (plain[k] + mirrored[k]) / 2) < 1e-5);
    // Over HTTP: tiny-b's card asks for flip; ?tta=0 turns it off.
    const png = await facePng(96);
    const on = await api(png, '?model=tiny-b&whole=1');
    const off = await api(png, '?model=tiny-b&whole=1&tta=0');
    const diff = LABELS.reduce((m, l) => Math.max(m, Math.abs(on.body.faces[0].scores[l] - off.body.faces[0].scores[l])), 0);
    assert.ok(diff > 1e-6, 'the card default (flip) and tta=0 differ');
  });

  test('several faces at once: each is averaged with its own mirror image', () => {
    const entry = server.registry.get('tiny-a')!;
    // Three different asymmetric faces: a mix-up of faces and mirrors in the shared batch would show.
    const faces = new Uint8Array(3 * 48 * 48).map((_, i) => (i * 37 + Math.floor(i / 48) * 11) % 256);
    const tta = predictFaces(entry, faces, { tta: true });
    for (let f = 0; f < 3; f++) {
      const face = faces.subarray(f * 2304, (f + 1) * 2304);
      const plain = predictFaces(entry, face, { tta: false })[0];
      const mirrored = predictFaces(entry, Uint8Array.from(flipFaces(face)), { tta: false })[0];
      for (let k = 0; k < LABELS.length; k++) assert.ok(Math.abs(tta[f][k] - (plain[k] + mirrored[k]) / 2) < 1e-5, `face ${f}, class ${k}`);
    }
  });
});

describe('a tiny model folder works with detection too', () => {
  test('custom CNN built here: Grad-CAM layer is the last conv before pooling', () => {
    const model = buildCustomCnn({ widths: [4, 8, 8], convsPerBlock: [1, 1, 2], dense: 8 });
    try {
      assert.equal(buildCamModel(model).layer, 'block3_conv2_relu');
    } finally {
      model.dispose();
    }
  });
});
