/**
 * npm run train -- --arch cnn|mobilenetv2 --data PATH [--epochs N] [--out DIR] [--resume] [--base PATH_OR_URL]
 */
import path from 'node:path';
import fs from 'node:fs';
import cliProgress from 'cli-progress';
import { initBackend } from '../tf/backend.js';
import { recoverFolder } from '../artifacts/atomic.js';
import { loadDataSet, trainValSplits, classCounts, type Split } from '../training/dataset.js';
import { estimateBlur } from '../training/sharpness.js';
import { architectureOf } from '../training/architectures/index.js';
import { train, type ProgressSink } from '../training/trainer.js';
import { LABELS } from '../types.js';
import { runCli } from './run.js';
import { runCommand } from './command-line.js';
import { checkOptions, settingsFromOptions, trainProgram, type TrainOptions } from './train-options.js';

const program = trainProgram().action(main);

async function main(o: TrainOptions): Promise<void> {
  checkOptions(o);
  const arch = architectureOf(o.arch);
  const name = o.name ?? arch.modelName;
  const runDir = path.join(o.runs, name);
  // A run killed in the middle of writing its checkpoint may have left it half swapped.
  if (o.resume) await recoverFolder(path.join(runDir, 'checkpoint'));
  if (o.resume && !fs.existsSync(path.join(runDir, 'checkpoint', 'state.json'))) {
    throw new Error(`--resume: no checkpoint in ${path.join(runDir, 'checkpoint')}`);
  }
  await initBackend(o.backend, (m) => console.log(m), { threads: o.threads });
  console.log(`loading ${o.data} ...`);
  const t0 = Date.now();
  const data = await loadDataSet(o.data, { skipBad: o.skipBad, onWarning: (w) => console.warn(w) });
  const seed = o.seed;
  const { train: trainSplit, val, valName } = trainValSplits(data, seed);
  console.log(
    `loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${trainSplit.size} training faces, ${val.size} validation faces (${valName})`,
  );
  console.log(
    `  training per class: ${classCounts(trainSplit)
      .map((c, i) => `${LABELS[i]} ${c}`)
      .join(', ')}`,
  );
  const inputBlur = decideBlur(o.matchBlur, trainSplit, val, valName);
  const settings = settingsFromOptions(o, inputBlur);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} acc {acc} | {ips} img/s | ETA {eta_formatted}',
      etaBuffer: 50,
      noTTYOutput: true,
      notTTYSchedule: 30_000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const progress: ProgressSink = process.stdout.isTTY
    ? {
        start: (total, start, payload) => bar.start(total, start, payload),
        update: (v, payload) => bar.update(v, payload),
        stop: () => bar.stop(),
      }
    : plainProgress(30_000);
  const out = o.out ?? path.join('models', name);
  const trainedOn = `${path.basename(o.data)}: ${trainSplit.size} Training faces; validation ${valName} (${val.size})`;
  const command = runCommand(process.argv.slice(2));
  const { interrupted } = await train(
    settings,
    { train: trainSplit, val, valName, trainedOn, command },
    { runDir, outDir: out, log: (m) => console.log(m), progress },
    !!o.resume,
  );
  if (interrupted) process.exitCode = 130;
}

/** Progress for logs (nohup, CI): one plain line every `everyMs`. */
function plainProgress(everyMs: number): ProgressSink {
  let total = 0,
    last = 0,
    t0 = 0,
    first = 0;
  return {
    start(t, start) {
      total = t;
      first = start;
      t0 = last = Date.now();
    },
    update(v, p) {
      const now = Date.now();
      if (now - last < everyMs && v < total) return;
      last = now;
      const eta = v > first ? (((now - t0) / (v - first)) * (total - v)) / 1000 : 0;
      console.log(
        `  epoch ${p.epoch}/${p.epochs} batch ${v}/${total} | loss ${p.loss} acc ${p.acc} | ${p.ips} img/s | ETA ${Math.floor(eta / 60)}m${Math.round(eta % 60)}s`,
      );
    },
    stop() {},
  };
}

/** Resolves --match-blur: measured (auto), off, or a given sigma. */
function decideBlur(mode: string, trainSplit: Split, val: Split, valName: string): number {
  if (mode === 'off') return 0;
  if (mode !== 'auto') {
    const sigma = Number(mode);
    if (!Number.isFinite(sigma) || sigma < 0) throw new Error(`--match-blur must be auto, off or a sigma >= 0, got "${mode}"`);
    return sigma;
  }
  if (valName !== 'PublicTest') return 0; // a held-out part of Training is as sharp as Training
  const e = estimateBlur(trainSplit, val);
  if (e.sigma > 0) {
    console.warn(
      `WARNING: the Training faces are much blurrier than the PublicTest faces (Laplacian energy ${e.trainEnergy.toFixed(2)} vs ${e.referenceEnergy.toFixed(2)}).`,
    );
    console.warn(
      `  The model will see every other face blurred to match (Gaussian sigma ${e.sigma} px, card input.blur); --match-blur off disables this.`,
    );
  }
  return e.sigma;
}

await runCli(program);
