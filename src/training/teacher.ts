/**
 * Knowledge distillation from a trained model: the teacher's probabilities for every
 * training face, as it serves them (its card's TTA and temperature; an ensemble averages
 * its members), computed once when a run starts. A step's target is then a blend of the
 * face's (smoothed) label and the teacher's row for it (step.ts), so the student also learns
 * which wrong classes a face resembles: fear next to sad and surprise, not next to happy.
 * A run keeps the rows it started with beside its checkpoint, so a resume trains on the very
 * same targets (and skips the minutes of scoring) even if the teacher's folder changed since.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomically } from '../artifacts/atomic.js';
import { disposeStandaloneEntry, loadModelEntry } from '../inference/registry.js';
import { predictFaces } from '../inference/predict.js';
import { FACE_PIXELS } from '../inference/preprocess.js';
import { NUM_CLASSES } from '../types.js';
import type { Split } from './dataset.js';

/** Faces per teacher pass: large enough to amortise each layer's overhead, small enough for a 96x96 model's activations. */
const CHUNK = 256;

/** n x 7 teacher probabilities, row-major, for the faces of `split` in their order. */
export async function teacherTargets(dir: string, split: Split, log: (msg: string) => void): Promise<Float32Array> {
  const entry = await loadModelEntry(dir).catch((e: Error) => {
    throw new Error(`--teacher ${dir}: ${e.message}`);
  });
  try {
    const out = new Float32Array(split.size * NUM_CLASSES);
    const t0 = Date.now();
    for (let i = 0; i < split.size; i += CHUNK) {
      const end = Math.min(split.size, i + CHUNK);
      const rows = predictFaces(entry, split.pixels.subarray(i * FACE_PIXELS, end * FACE_PIXELS));
      rows.forEach((row, k) => out.set(row, (i + k) * NUM_CLASSES));
    }
    log(`teacher ${dir}: ${split.size} training faces scored in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return out;
  } finally {
    disposeStandaloneEntry(entry);
  }
}

/** Beside a run's checkpoint: the teacher rows it started with. */
export const TEACHER_FILE = 'teacher-rows.f32';

/** The run's teacher rows: on a resume, those its start saved in `file`; else scored now and saved there. */
export async function runTeacherTargets(
  file: string,
  dir: string,
  split: Split,
  resume: boolean,
  log: (msg: string) => void,
): Promise<Float32Array> {
  const saved = resume ? await fs.readFile(file).catch(() => null) : null;
  if (saved && saved.byteLength === split.size * NUM_CLASSES * 4) {
    log(`teacher ${dir}: the run's saved rows (${file})`);
    return new Float32Array(saved.buffer, saved.byteOffset, saved.byteLength / 4).slice();
  }
  const rows = await teacherTargets(dir, split, log);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomically(file, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
  return rows;
}
