/**
 * The API page and its OpenAPI 3.1 document: the document is valid OpenAPI,
 * every documented operation answers as documented (status listed, body
 * matching the response schema, checked with Ajv), the API rejects invalid
 * input through its schemas, and the page's curl and fetch examples work
 * when copied as they are.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { facePng, photoJpeg } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { basicAuthHeader, startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

const run = promisify(execFile);

interface Doc {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
}

let models: TestModels;
let server: SharingServer;
let doc: Doc;

before(async () => {
  models = await makeTestModels();
  server = await startSharingServer(models.dir, { flag: false });
  const res = await fetch(`${server.url}/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as Doc;
});
after(async () => {
  await server?.close();
  await models?.cleanup();
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addFormat('binary', true);

/** Checks a response against the document: its status is listed and its JSON body matches the schema. */
async function assertDocumented(method: string, p: string, res: Response): Promise<unknown> {
  const op = doc.paths[p]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${p} is documented`);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${method.toUpperCase()} ${p} answered ${res.status}, which the document does not list`);
  const schema = documented.content?.['application/json']?.schema;
  assert.ok(schema, `${res.status} has a JSON schema`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = await res.json();
  const validate = ajv.compile({ ...schema, components: doc.components });
  assert.ok(
    validate(body),
    `${method.toUpperCase()} ${p} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 400)}`,
  );
  return body;
}

function imageForm(bytes: Uint8Array, extra: Record<string, string> = {}): FormData {
  const fd = new FormData();
  fd.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), 'face.png');
  for (const [k, v] of Object.entries(extra)) fd.append(k, v);
  return fd;
}

describe('the OpenAPI document', () => {
  test('is valid OpenAPI 3.1 and names this server', async () => {
    const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    // ...and the validator does reject a broken one (it is not a no-op).
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: unknown }>> };
    broken.paths['/healthz'].get.responses = 'none';
    assert.equal((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid, false);
    assert.match(doc.openapi, /^3\.1/);
    assert.equal(doc.servers[0].url, server.url);
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/models', '/api/predict', '/healthz']);
  });

  test('every documented operation answers as documented', async () => {
    const exercised = new Set<string>();
    const call = async (method: string, p: string, init: RequestInit = {}, query = '') => {
      exercised.add(`${method} ${p}`);
      return assertDocumented(method, p, await fetch(`${server.url}${p}${query}`, { method: method.toUpperCase(), ...init }));
    };
    await call('get', '/api/models');
    await call('get', '/healthz');
    const png = new Uint8Array(await facePng(96));
    await call('post', '/api/predict', { body: imageForm(png) });
    const one = (await call('post', '/api/predict', { body: imageForm(png) }, '?whole=1&explain=1')) as {
      faces: Array<{ heatmap?: string }>;
    };
    assert.equal(one.faces.length, 1);
    assert.match(one.faces[0].heatmap ?? '', /^data:image\/png;base64,/);
    await call(
      'post',
      '/api/predict',
      { body: new Uint8Array(await photoJpeg()), headers: { 'content-type': 'image/jpeg' } },
      '?model=tiny-a',
    );
    const all = (await call('post', '/api/predict', { body: imageForm(png) }, '?model=all')) as { model: string };
    assert.equal(all.model, 'all');
    // Documented failures.
    await call('post', '/api/predict', { body: new FormData() });
    await call('post', '/api/predict', { body: imageForm(png) }, '?model=nope');
    await call('post', '/api/predict', { body: imageForm(new TextEncoder().encode('not an image')) });
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const m of Object.keys(item)) assert.ok(exercised.has(`${m} ${p}`), `${m.toUpperCase()} ${p} was exercised`);
    }
  });

  test('input is checked by the schemas: bad query and form fields are 400 with a message', async () => {
    const png = new Uint8Array(await facePng(64));
    for (const [query, extra] of [
      ['?model=' + 'x'.repeat(101), {}],
      ['?model=../../etc', {}],
      ['', { model: 'a b' }],
    ] as const) {
      const res = await fetch(`${server.url}/api/predict${query}`, { method: 'POST', body: imageForm(png, extra) });
      const body = (await assertDocumented('post', '/api/predict', res)) as { error: string };
      assert.equal(res.status, 400);
      assert.match(body.error, /model/);
    }
  });

  test('with --auth the document declares basic auth, and 401 answers as documented', async () => {
    const locked = await startSharingServer(models.dir, { flag: false, auth: [{ username: 'ann', password: 'pw' }] });
    try {
      const res = await fetch(`${locked.url}/openapi.json`, { headers: basicAuthHeader('ann', 'pw') });
      const d = (await res.json()) as Doc & { security: unknown; components: { securitySchemes: Record<string, { scheme: string }> } };
      assert.equal(d.components.securitySchemes.basicAuth.scheme, 'basic');
      assert.deepEqual(d.security, [{ basicAuth: [] }]);
      assert.equal((await new Validator().validate(d as unknown as Record<string, unknown>)).valid, true);
      await assertDocumented('get', '/api/models', await fetch(`${locked.url}/api/models`));
      await assertDocumented('get', '/healthz', await fetch(`${locked.url}/healthz`));
    } finally {
      await locked.close();
    }
  });
});

describe('the API page', () => {
  test('lists every operation with curl and fetch examples that work as copied', { timeout: 60_000 }, async () => {
    const res = await fetch(`${server.url}/api`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /Use via API/);
    assert.match(html, /href="\/openapi\.json"/);
    const unescape = (s: string) =>
      s
        .replace(/&#39;/g, "'")
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
    for (const op of Object.values(doc.paths).flatMap((item) => Object.values(item))) {
      assert.match(html, new RegExp(`id="op-${op.operationId}"`));
    }
    const curl = unescape(/<code id="op-predict-curl">([^<]+)<\/code>/.exec(html)![1]);
    const fetchCode = unescape(/<code id="op-predict-fetch">([^<]+)<\/code>/.exec(html)![1]);
    assert.match(curl, /^curl -F image=@photo\.jpg '/);

    // The curl line, run by a shell in a folder with a photo.jpg.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-curl-'));
    try {
      fs.writeFileSync(path.join(dir, 'photo.jpg'), await photoJpeg());
      const { stdout } = await run('sh', ['-c', `${curl} --silent --show-error`], { cwd: dir });
      const body = JSON.parse(stdout) as { faces: unknown[] };
      assert.ok(Array.isArray(body.faces));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // The fetch snippet, run as it is with `file` set to a photo.
    const logged: unknown[] = [];
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...args: string[]
    ) => (...a: unknown[]) => Promise<void>;
    const snippet = new AsyncFunction('file', 'console', fetchCode);
    await snippet(new File([new Uint8Array(await photoJpeg())], 'photo.jpg', { type: 'image/jpeg' }), {
      log: (v: unknown) => logged.push(v),
    });
    assert.equal(logged.length, 1);
    assert.ok(Array.isArray((logged[0] as { faces: unknown[] }).faces));

    // The Python snippet, run as it is next to a photo.jpg (where Python has requests).
    const python = unescape(/<code id="op-predict-python">([^<]+)<\/code>/.exec(html)![1]);
    assert.match(python, /^import requests\n/);
    assert.match(python, /requests\.post\('http:\/\/127\.0\.0\.1:\d+\/api\/predict', files=\{'image': photo\}\)/);
    const hasRequests = await run('python3', ['-c', 'import requests']).then(
      () => true,
      () => false,
    );
    if (hasRequests) {
      const pyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekspresi-python-'));
      try {
        fs.writeFileSync(path.join(pyDir, 'photo.jpg'), await photoJpeg());
        const { stdout } = await run('python3', ['-c', python], { cwd: pyDir });
        assert.match(stdout, /'faces': \[/);
      } finally {
        fs.rmSync(pyDir, { recursive: true, force: true });
      }
    }
  });

  test('descriptions are rendered, not shown as markdown; each operation has an example answer that its schema accepts', async () => {
    const html = await (await fetch(`${server.url}/api`)).text();
    const prose = html.replace(/<pre\b[\s\S]*?<\/pre>/g, '').replace(/<script\b[\s\S]*?<\/script>/g, '');
    assert.ok(!prose.includes('`'), 'no literal backticks outside code samples');
    assert.match(prose, /<code>image<\/code>/, 'inline code is <code>');
    const unescape = (s: string) =>
      s
        .replace(/&#39;/g, "'")
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');
    for (const [p, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const shown = /<code id="op-[^"]+-example">([^<]+)<\/code>/.exec(html.slice(html.indexOf(`id="op-${op.operationId}"`)));
        assert.ok(shown, `${op.operationId} shows an example`);
        const example = JSON.parse(unescape(shown[1])) as unknown;
        const content = op.responses['200'].content!['application/json'] as { schema: object; example?: unknown };
        assert.deepEqual(content.example, example, `${op.operationId}: the page shows the document's example`);
        const validate = ajv.compile({ ...content.schema, components: doc.components });
        assert.ok(validate(example), `${method.toUpperCase()} ${p} example: ${ajv.errorsText(validate.errors)}`);
        assert.match(html, new RegExp(`id="op-${op.operationId}-python"`));
      }
    }
  });
});
