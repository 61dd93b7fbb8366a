/**
 * The demo server through real HTTP on a loopback port: predictions for real
 * image files, the JSON contract, and every kind of bad input (each a 4xx with
 * a message, after which the server still serves).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { LABELS } from '../../src/types.js';
import { tf } from '../../src/tf/backend.js';
import { exifRotatedJpeg, facePng, photoJpeg, pngBomb, rgbaPng, truncatedJpeg } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MAX_UPLOAD = 256 * 1024; // small limit so the over-limit test sends little

let models: TestModels;
let server: TestServer;

before(async () => {
  models = await makeTestModels();
  server = await startTestServer(models.dir, { maxUploadBytes: MAX_UPLOAD });
});
after(async () => {
  await server?.close();
  await models?.cleanup();
});

interface PredictBody {
  model: string;
  image: { width: number; height: number };
  faces: Array<{ box: { x: number; y: number; width: number; height: number }; label: string; scores: Record<string, number> }>;
  ms: number;
}

function form(bytes: Uint8Array | null, name = 'photo.png', type = 'image/png', extra: Record<string, string> = {}): FormData {
  const fd = new FormData();
  if (bytes) fd.append('image', new Blob([new Uint8Array(bytes)], { type }), name);
  for (const [k, v] of Object.entries(extra)) fd.append(k, v);
  return fd;
}

async function apiPredict(body: FormData | Uint8Array, query = ''): Promise<{ status: number; json: unknown }> {
  const init: RequestInit =
    body instanceof FormData
      ? { method: 'POST', body }
      : { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } };
  const res = await fetch(`${server.url}/api/predict${query}`, init);
  return { status: res.status, json: await res.json() };
}

function assertPrediction(body: PredictBody): void {
  assert.equal(typeof body.model, 'string');
  assert.equal(typeof body.ms, 'number');
  assert.ok(body.faces.length >= 1);
  for (const face of body.faces) {
    for (const k of ['x', 'y', 'width', 'height'] as const) assert.equal(typeof face.box[k], 'number');
    assert.deepEqual(Object.keys(face.scores), [...LABELS], 'scores in FER2013 order');
    const sum = Object.values(face.scores).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
    const best = LABELS.reduce((a, b) => (face.scores[b] > face.scores[a] ? b : a));
    assert.equal(face.label, best);
  }
}

describe('models', () => {
  test('loads good folders, skips broken ones with a reason, defaults to the most accurate', async () => {
    const res = await fetch(`${server.url}/api/models`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      default: string;
      models: Array<{ id: string; card: { name: string } }>;
      skipped: Array<{ id: string; reason: string }>;
    };
    assert.equal(body.default, 'tiny-b');
    assert.deepEqual(
      body.models.map((m) => m.id),
      ['tiny-b', 'tiny-a'],
    );
    assert.equal(body.models[0].card.name, 'tiny-b');
    assert.deepEqual(body.skipped.map((s) => s.id).sort(), ['corrupt', 'no-model']);
    for (const s of body.skipped) assert.ok(s.reason.length > 0);
  });

  test('healthz', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; models: number };
    assert.equal(body.status, 'ok');
    assert.equal(body.models, 2);
  });
});

describe('POST /api/predict', () => {
  // whole=1: these drawn faces are whole-image faces; detection has its own tests (faces.test.ts).
  test('PNG as multipart', async () => {
    const { status, json } = await apiPredict(form(await facePng()), '?whole=1');
    assert.equal(status, 200, JSON.stringify(json));
    const body = json as PredictBody;
    assertPrediction(body);
    assert.equal(body.model, 'tiny-b');
    assert.deepEqual(body.image, { width: 96, height: 96 });
    assert.deepEqual(body.faces[0].box, { x: 0, y: 0, width: 96, height: 96 });
  });

  test('JPEG photo as the raw body, with ?model=', async () => {
    const { status, json } = await apiPredict(await photoJpeg(), '?model=tiny-a&whole=1');
    assert.equal(status, 200, JSON.stringify(json));
    const body = json as PredictBody;
    assertPrediction(body);
    assert.equal(body.model, 'tiny-a');
    // The face is the centred square of a landscape photo.
    assert.deepEqual(body.faces[0].box, { x: 80, y: 0, width: 480, height: 480 });
  });

  test('EXIF orientation is applied', async () => {
    const { status, json } = await apiPredict(form(await exifRotatedJpeg(), 'sideways.jpg', 'image/jpeg'), '?whole=1');
    assert.equal(status, 200, JSON.stringify(json));
    const body = json as PredictBody;
    assertPrediction(body);
    assert.deepEqual(body.image, { width: 40, height: 60 }, 'stored 60x40, upright 40x60');
    assert.deepEqual(body.faces[0].box, { x: 0, y: 10, width: 40, height: 40 });
  });

  test('other formats: transparent PNG, WebP, GIF, AVIF, TIFF', async () => {
    const base = sharp(await facePng(64));
    const files: Array<[string, Buffer]> = [
      ['rgba.png', await rgbaPng()],
      ['face.webp', await base.clone().webp().toBuffer()],
      ['face.gif', await base.clone().gif().toBuffer()],
      ['face.avif', await base.clone().avif({ effort: 0 }).toBuffer()],
      ['face.tiff', await base.clone().tiff().toBuffer()],
    ];
    for (const [name, bytes] of files) {
      const { status, json } = await apiPredict(form(bytes, name, 'application/octet-stream'), '?whole=1');
      assert.equal(status, 200, `${name}: ${JSON.stringify(json)}`);
      assertPrediction(json as PredictBody);
    }
  });

  test('the same face gives the same scores, and requests leak no tensors', async () => {
    const png = await facePng();
    const first = (await apiPredict(form(png), '?whole=1')).json as PredictBody;
    const before = tf.memory().numTensors;
    const second = (await apiPredict(form(png), '?whole=1')).json as PredictBody;
    assert.equal(tf.memory().numTensors, before);
    for (const l of LABELS) assert.ok(Math.abs(first.faces[0].scores[l] - second.faces[0].scores[l]) < 1e-6);
  });
});

describe('bad input gets a 4xx with a message, and the server keeps serving', () => {
  const cases: Array<[string, () => Promise<FormData | Uint8Array> | FormData | Uint8Array, number, RegExp, string?]> = [
    ['no file (multipart)', () => form(null, '', '', { model: 'tiny-a' }), 400, /no image/i],
    ['no file (empty raw body)', () => new Uint8Array(0), 400, /no image/i],
    ['empty file', () => form(new Uint8Array(0), 'empty.jpg'), 400, /empty/i],
    ['not an image', () => form(new TextEncoder().encode('hello, I am a text file'), 'notes.txt', 'text/plain'), 415, /not an image/i],
    [
      'unsupported format (SVG)',
      () => form(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 'x.svg', 'image/svg+xml'),
      415,
      /not supported/i,
    ],
    ['truncated image', truncatedJpeg, 422, /damaged|incomplete/i],
    ['decompression bomb', () => form(pngBomb(), 'bomb.png'), 422, /megapixels/i],
    ['file over the size limit', () => form(new Uint8Array(MAX_UPLOAD + 1024), 'big.jpg', 'image/jpeg'), 413, /too large/i],
    ['unknown model', async () => form(await facePng()), 400, /no model called/i, '?model=nope'],
  ];
  for (const [name, make, status, message, query] of cases) {
    test(name, async () => {
      const res = await apiPredict(await make(), query ?? '');
      assert.equal(res.status, status, JSON.stringify(res.json));
      const error = (res.json as { error?: string }).error;
      assert.equal(typeof error, 'string');
      assert.match(error!, message);
      // Still serving.
      const ok = await apiPredict(form(await facePng()));
      assert.equal(ok.status, 200);
    });
  }
});

describe('pages', () => {
  test('GET / has the form, the model picker and htmx from node_modules', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<form id="predict-form"[^>]*action="\/predict"/);
    // The picker lists the formats the server decodes (a phone's picker then offers only those).
    const accept = html.match(/<input type="file" id="image"[^>]* accept="([^"]+)"/)?.[1] ?? '';
    for (const type of ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/tiff'])
      assert.ok(accept.split(',').includes(type), type);
    assert.match(html, /JPEG, PNG, WebP, GIF, AVIF or TIFF/);
    assert.match(html, /<option value="tiny-b" selected>/);
    assert.doesNotMatch(html, /<script>(?!<\/script>)/, 'no inline scripts');
    for (const asset of ['/vendor/htmx.min.js', '/static/app.js', '/static/style.css', '/vendor/uplot.min.js']) {
      const r = await fetch(server.url + asset);
      assert.equal(r.status, 200, asset);
      await r.arrayBuffer();
    }
  });

  test('POST /predict from htmx returns the result partial with 7 labelled meters', async () => {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: form(await facePng(), 'face.png', 'image/png', { model: 'tiny-a', whole: '1' }),
      headers: { 'HX-Request': 'true' },
    });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.doesNotMatch(html, /<html/);
    assert.equal(html.match(/<meter /g)?.length, 7);
    for (const l of LABELS) assert.match(html, new RegExp(`<label class="bar-label" for="face0-${l}">${l}</label>`));
    assert.match(html, /data-model="tiny-a"/);
  });

  test('POST /predict without JavaScript returns the whole page with the result', async () => {
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: form(await facePng(), 'face.png', 'image/png', { whole: '1' }),
    });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<html/);
    assert.equal(html.match(/<meter /g)?.length, 7);
  });

  test('GET /predict (a reload after a no-JavaScript post) goes back to the form', async () => {
    const res = await fetch(`${server.url}/predict?lang=id`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/?lang=id');
    const followed = await fetch(`${server.url}/predict`);
    assert.equal(followed.status, 200);
    assert.match(await followed.text(), /<form[^>]+id="predict-form"/);
  });

  test('page errors: partial for htmx, full page otherwise', async () => {
    const partial = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: form(null, '', '', {}),
      headers: { 'HX-Request': 'true' },
    });
    assert.equal(partial.status, 400);
    const p = await partial.text();
    assert.match(p, /role="alert"/);
    assert.match(p, /No photo was chosen/);
    const page = await fetch(`${server.url}/predict`, { method: 'POST', body: form(new TextEncoder().encode('nope'), 'a.txt') });
    assert.equal(page.status, 415);
    const html = await page.text();
    assert.match(html, /<html/);
    assert.match(html, /not an image/);
  });

  test('unknown paths are 404 pages (HTML) and 404 JSON under /api', async () => {
    const page = await fetch(`${server.url}/nope`);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /Page not found/);
    const api = await fetch(`${server.url}/api/nope`);
    assert.equal(api.status, 404);
    assert.equal(typeof ((await api.json()) as { error: string }).error, 'string');
  });
});

describe('no models', () => {
  test('the page explains how to train one; the API says 503', async () => {
    const empty = await startTestServer(`${models.dir}/does-not-exist`);
    try {
      const page = await fetch(`${empty.url}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /No models yet/);
      assert.match(html, /npm run train/);
      const api = await fetch(`${empty.url}/api/predict`, { method: 'POST', body: form(await facePng()) });
      assert.equal(api.status, 503);
      assert.match(((await api.json()) as { error: string }).error, /No model is loaded/);
    } finally {
      await empty.close();
    }
  });
});
