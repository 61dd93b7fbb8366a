/**
 * Private mode's pipeline as a browser gets it: fetched from a running test server (the manifest's
 * `pipeline`), written to a temporary .mjs file and imported, with Node's TF.js (already initialised
 * by the server's registry) as the page's global `tf` the bundle takes.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tf } from '../../src/tf/backend.js';
import type * as Pipeline from '../../src/inference/browser/pipeline.js';

export type ServedPipeline = typeof Pipeline;

export interface PrivateManifest {
  pipeline: string;
  detector: { url: string; maxFaces: number };
  models: Array<Pipeline.ManifestNetwork & { url?: string; members?: string[] }>;
  default: string;
}

export async function privateManifest(serverUrl: string): Promise<PrivateManifest> {
  return (await (await fetch(`${serverUrl}/private/manifest.json`)).json()) as PrivateManifest;
}

/** The served bundle, imported. */
export async function importServedPipeline(serverUrl: string): Promise<ServedPipeline> {
  const manifest = await privateManifest(serverUrl);
  const res = await fetch(serverUrl + manifest.pipeline);
  if (res.status !== 200) throw new Error(`${manifest.pipeline}: ${res.status} ${await res.text()}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ekspresi-pipeline-'));
  try {
    const file = path.join(dir, 'pipeline.mjs');
    await fs.writeFile(file, await res.text());
    (globalThis as { tf?: typeof tf }).tf = tf;
    return (await import(pathToFileURL(file).href)) as ServedPipeline;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
