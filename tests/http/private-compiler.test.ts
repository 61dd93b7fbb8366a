/**
 * Private mode's copy of the inference compiler: the server serves src/inference/fused-model.ts with its
 * types stripped, the manifest names it, and the served script compiles a shipped model to the very
 * answers the server gives (it is the same source).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tf } from '../../src/tf/backend.js';
import type * as FusedModel from '../../src/inference/fused-model.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer(path.join(PROJECT_ROOT, 'models'), { privateMode: true, rateLimitPerMinute: 0 });
});

after(async () => {
  await server?.close();
});

describe('the inference compiler for the browser', () => {
  test('served as a script that imports nothing, named by the manifest', async () => {
    const manifest = (await (await fetch(`${server.url}/private/manifest.json`)).json()) as { compiler: string };
    assert.equal(manifest.compiler, '/private/fused-model.js');
    const res = await fetch(server.url + manifest.compiler);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /max-age/);
    const code = await res.text();
    assert.match(code, /export \{[^}]*\bcompileChecked\b/);
    assert.doesNotMatch(code, /^\s*import\s/m, 'no imports: the browser has nothing to resolve them with');
  });

  test('the served script compiles a shipped model to the server’s answers', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-compiler-'));
    try {
      const file = path.join(dir, 'fused-model.mjs');
      await fs.writeFile(file, await (await fetch(`${server.url}/private/fused-model.js`)).text());
      const served = (await import(pathToFileURL(file).href)) as typeof FusedModel;
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
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
