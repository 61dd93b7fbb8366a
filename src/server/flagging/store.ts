/**
 * Flagged faces: one row per flag in a SQLite file (better-sqlite3) and the
 * 48x48 crop as a PNG beside it under a random name - never the uploader's
 * file name, and never the rest of their photo.
 *
 *   <dataDir>/flagged/flags.sqlite
 *   <dataDir>/flagged/crops/<32 hex digits>.png
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Scores } from '../../inference/predict.js';
import { FACE_SIZE, LABELS, type Label } from '../../types.js';

export interface NewFlag {
  model: string;
  scores: Scores;
  face: Uint8Array;
  /** The expression the person says is right. */
  label: Label;
  note: string;
}

export interface FlagRecord {
  id: number;
  /** ISO 8601 time the flag was saved. */
  created: string;
  model: string;
  /** The model's top label. */
  predicted: Label;
  scores: Scores;
  label: Label;
  note: string;
  /** File name of the crop inside the crops folder. */
  crop: string;
}

interface Row {
  id: number;
  created: string;
  model: string;
  predicted: string;
  scores: string;
  label: string;
  note: string;
  crop: string;
}

export const MAX_NOTE_LENGTH = 500;
const CROP_NAME = /^[0-9a-f]{32}\.png$/;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS flags (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  created   TEXT NOT NULL,
  model     TEXT NOT NULL,
  predicted TEXT NOT NULL,
  scores    TEXT NOT NULL,
  label     TEXT NOT NULL CHECK (label IN (${LABELS.map((l) => `'${l}'`).join(', ')})),
  note      TEXT NOT NULL DEFAULT '',
  crop      TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS flags_created ON flags (created);
`;

function topOf(scores: Scores): Label {
  return LABELS.reduce((a, b) => (scores[b] > scores[a] ? b : a));
}

function toRecord(r: Row): FlagRecord {
  return {
    id: r.id,
    created: r.created,
    model: r.model,
    predicted: r.predicted as Label,
    scores: JSON.parse(r.scores) as Scores,
    label: r.label as Label,
    note: r.note,
    crop: r.crop,
  };
}

export class FlagStore {
  readonly dir: string;
  readonly cropsDir: string;
  readonly dbFile: string;
  private readonly db: Database.Database;

  private constructor(dataDir: string) {
    this.dir = path.join(path.resolve(dataDir), 'flagged');
    this.cropsDir = path.join(this.dir, 'crops');
    this.dbFile = path.join(this.dir, 'flags.sqlite');
    fs.mkdirSync(this.cropsDir, { recursive: true });
    this.db = new Database(this.dbFile);
    // WAL: the review page and the export can read while the server writes.
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  /** Opens (creating if needed) the flag store under `dataDir`. */
  static open(dataDir: string): FlagStore {
    return new FlagStore(dataDir);
  }

  /** Writes the crop, then the row; a failed insert leaves no orphan file. */
  async add(flag: NewFlag): Promise<FlagRecord> {
    if (flag.face.length !== FACE_SIZE * FACE_SIZE) throw new Error('a flagged face must be 48x48 grey');
    const crop = `${randomBytes(16).toString('hex')}.png`;
    const file = path.join(this.cropsDir, crop);
    const png = await sharp(flag.face, { raw: { width: FACE_SIZE, height: FACE_SIZE, channels: 1 } })
      .png()
      .toBuffer();
    const tmp = `${file}.tmp`;
    await fsp.writeFile(tmp, png, { flag: 'wx' });
    await fsp.rename(tmp, file);
    const row = {
      created: new Date().toISOString(),
      model: flag.model,
      predicted: topOf(flag.scores),
      scores: JSON.stringify(flag.scores),
      label: flag.label,
      note: flag.note.slice(0, MAX_NOTE_LENGTH),
      crop,
    };
    try {
      const info = this.db
        .prepare(
          'INSERT INTO flags (created, model, predicted, scores, label, note, crop) VALUES (@created, @model, @predicted, @scores, @label, @note, @crop)',
        )
        .run(row);
      return { ...row, id: Number(info.lastInsertRowid), scores: flag.scores };
    } catch (e) {
      await fsp.rm(file, { force: true });
      throw e;
    }
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM flags').get() as { n: number }).n;
  }

  /** Newest first. */
  list(limit = 100, offset = 0): FlagRecord[] {
    return (this.db.prepare('SELECT * FROM flags ORDER BY id DESC LIMIT ? OFFSET ?').all(limit, offset) as Row[]).map(toRecord);
  }

  /** Oldest first, for the export (stable order, row after row). */
  *all(): Generator<FlagRecord> {
    for (const r of this.db.prepare('SELECT * FROM flags ORDER BY id').iterate() as IterableIterator<Row>) yield toRecord(r);
  }

  get(id: number): FlagRecord | undefined {
    const r = this.db.prepare('SELECT * FROM flags WHERE id = ?').get(id) as Row | undefined;
    return r && toRecord(r);
  }

  /** How many flags chose each label. */
  countsByLabel(): Record<Label, number> {
    const counts = Object.fromEntries(LABELS.map((l) => [l, 0])) as Record<Label, number>;
    for (const r of this.db.prepare('SELECT label, COUNT(*) AS n FROM flags GROUP BY label').all() as Array<{ label: Label; n: number }>) {
      counts[r.label] = r.n;
    }
    return counts;
  }

  /** Deletes a flag and its crop; false when there was none. */
  async remove(id: number): Promise<boolean> {
    const r = this.get(id);
    if (!r) return false;
    this.db.prepare('DELETE FROM flags WHERE id = ?').run(id);
    await fsp.rm(path.join(this.cropsDir, r.crop), { force: true });
    return true;
  }

  /** Absolute path of a crop, or null for a name that is not one of ours (no path tricks). */
  cropPath(name: string): string | null {
    return CROP_NAME.test(name) ? path.join(this.cropsDir, name) : null;
  }

  /** The crop as 48x48 grey pixels (what the export writes). */
  async readCrop(name: string): Promise<Uint8Array> {
    const file = this.cropPath(name);
    if (!file) throw new Error(`not a crop name: ${name}`);
    const { data } = await sharp(file)
      .greyscale()
      .resize(FACE_SIZE, FACE_SIZE, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, FACE_SIZE * FACE_SIZE);
  }

  close(): void {
    this.db.close();
  }
}
