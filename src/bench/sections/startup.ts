/**
 * Bench section `startup`: `npm start`'s own code (src/cli/serve.ts)
 * as a child process on a loopback port, with the models in models/ (or a
 * stand-in, said so):
 *  - start-up time: to listening, to the first /healthz, to the first
 *    POST /api/predict answer (the first request's own time too: it is cold);
 *  - the server process's own RSS and open file handles after 20 requests
 *    (the `server` section's RSS also holds the load generator);
 *  - shutdown: SIGTERM while a photo is being analysed; the request must
 *    still be answered 200 and the process exit 0.
 */
import { disposeRegistry } from '../../inference/registry.js';
import { benchImages } from '../bench-images.js';
import { benchModels } from '../bench-models.js';
import { startChildServer } from '../child-server.js';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../framework.js';
import { openFds, rssOfPid } from '../process-stats.js';

const WARM_REQUESTS = 20;

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not answering yet */
    }
    if (performance.now() > deadline) throw new Error(`no /healthz answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const section: BenchSection = {
  name: 'startup',
  title: 'Server start-up (npm start as a child process) and graceful shutdown',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const notes: string[] = [];
    const models = await benchModels(ctx.options.models ?? 'models', () => {});
    disposeRegistry(models.registry); // only the folder is needed here: the child loads it
    if (models.standIn) notes.push('no model in models/: an untrained custom CNN of the default architecture stood in');
    const images = await benchImages();
    const face = { method: 'POST', body: new Uint8Array(images.face48), headers: { 'content-type': 'image/png' } };
    const r1 = (v: number) => Math.round(v * 10) / 10;
    try {
      ctx.log('[bench] startup: starting src/cli/serve.ts');
      const t0 = performance.now();
      const child = await startChildServer({ args: ['--models', models.dir, '--quiet', '--no-flagging', '--rate-limit', '0'] });
      try {
        await waitForHealth(child.url, 30_000);
        const healthMs = performance.now() - t0;
        const p0 = performance.now();
        const first = await fetch(`${child.url}/api/predict?whole=1`, face);
        await first.arrayBuffer();
        const firstPredictMs = performance.now() - t0;
        const firstRequestMs = performance.now() - p0;
        if (first.status !== 200) throw new Error(`the first POST /api/predict answered ${first.status}`);
        for (let i = 0; i < WARM_REQUESTS; i++) await (await fetch(`${child.url}/api/predict?whole=1`, face)).arrayBuffer();
        const pid = child.child.pid!;
        const rss = rssOfPid(pid);
        const fds = openFds(pid);

        // SIGTERM while a photo is in flight: it must be answered, then the process exits.
        const inFlight = fetch(`${child.url}/api/predict`, {
          method: 'POST',
          body: new Uint8Array(images.photo),
          headers: { 'content-type': 'image/jpeg' },
        })
          .then(async (res) => ({ status: res.status, ok: Array.isArray(((await res.json()) as { faces?: unknown }).faces) }))
          .catch((e: Error) => ({ status: 0, ok: false, error: e.message }));
        await new Promise((r) => setTimeout(r, 30)); // let the request reach the server
        const stopped = await child.stop('SIGTERM');
        const answer = await inFlight;
        if (answer.status !== 200) notes.push(`the request in flight at SIGTERM was not answered 200 (${JSON.stringify(answer)})`);
        const figures: Figure[] = [
          {
            id: 'listening_ms',
            label: 'start-up: spawn to listening',
            value: r1(child.listeningMs),
            unit: 'ms',
            note: 'node + tsx + TF.js + models + face detector',
          },
          { id: 'first_healthz_ms', label: 'start-up: spawn to first /healthz answer', value: r1(healthMs), unit: 'ms' },
          { id: 'first_predict_ms', label: 'start-up: spawn to first POST /api/predict answer', value: r1(firstPredictMs), unit: 'ms' },
          { id: 'first_request_ms', label: 'first POST /api/predict (48x48 face), its own time', value: r1(firstRequestMs), unit: 'ms' },
          { id: 'server_rss_mb', label: `server process RSS after ${WARM_REQUESTS + 1} requests`, value: rss, unit: 'MB' },
          { id: 'server_fds', label: 'server process open file handles', value: fds, unit: 'fds' },
          { id: 'sigterm_in_flight_status', label: 'request in flight at SIGTERM: status', value: answer.status, unit: '' },
          { id: 'sigterm_exit_ms', label: 'SIGTERM to exit', value: r1(stopped.ms), unit: 'ms' },
          {
            id: 'sigterm_exit_code',
            label: 'exit code after SIGTERM',
            value: stopped.code,
            unit: '',
            ...(stopped.signal ? { note: `killed by ${stopped.signal}` } : {}),
          },
        ];
        return { figures, notes };
      } finally {
        if (child.child.exitCode === null && child.child.signalCode === null) await child.stop('SIGKILL');
      }
    } finally {
      await models.cleanup();
    }
  },
};

export default section;
