/**
 * Private mode's copy of the inference compiler: the pipeline bundle the server serves (the manifest's
 * `pipeline`) carries src/inference/fused-model.ts, and its compileChecked compiles every shipped model
 * to the very answers the server gives (it is the same source).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { tf } from '../../src/tf/backend.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';
import { importServedPipeline } from '../helpers/private-pipeline.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await startTestServer(path.join(PROJECT_ROOT, 'models'), { privateMode: true, rateLimitPerMinute: 0 });
});

after(async () => {
  await server?.close();
});

describe('the inference compiler for the browser', () => {
  test('the served bundle compiles a shipped model to the server’s answers', async () => {
    const served = await importServedPipeline(server.url);
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
