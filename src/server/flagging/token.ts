/**
 * The "Wrong? Flag it" form carries what the model saw and said - the 48x48
 * crop, the model and its scores - in one signed token, so the server stores
 * nothing until someone actually flags, and cannot be sent a crop or scores
 * it never produced. HMAC-SHA256 with a key made at start-up; a token from
 * before a restart (or older than maxAgeMs) is refused politely. A token is
 * good for one flag: `redeem` spends it (replays would add the same face
 * again and again), and the spent ones are remembered until they expire.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scores } from '../../inference/predict.js';
import { FACE_SIZE, LABELS } from '../../types.js';

export interface FlagSubject {
  model: string;
  scores: Scores;
  /** 48x48 grey, row-major, 0-255. */
  face: Uint8Array;
  /** When the prediction was made (ms since epoch). */
  issued: number;
}

export type VerifyResult = { ok: true; subject: FlagSubject } | { ok: false; reason: 'invalid' | 'expired' };
export type RedeemResult = VerifyResult | { ok: false; reason: 'used' };

/** `n` is a random nonce: two results of the same face still get two tokens. */
interface Payload {
  m: string;
  s: number[];
  f: string;
  t: number;
  n?: string;
}

const FACE_BYTES = FACE_SIZE * FACE_SIZE;

export class FlagSigner {
  private readonly key: Buffer;
  /** Spent tokens (their MAC) -> when they expire anyway. */
  private readonly spent = new Map<string, number>();
  private lastSweep = 0;
  constructor(
    readonly maxAgeMs = 12 * 3600_000,
    key: Buffer = randomBytes(32),
    private readonly now: () => number = Date.now,
  ) {
    this.key = key;
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest();
  }

  sign(model: string, scores: Scores, face: Uint8Array): string {
    if (face.length !== FACE_BYTES) throw new Error(`a face crop has ${FACE_BYTES} bytes, got ${face.length}`);
    const payload: Payload = {
      m: model,
      s: LABELS.map((l) => Math.round(scores[l] * 1e6) / 1e6),
      f: Buffer.from(face).toString('base64'),
      t: this.now(),
      n: randomBytes(9).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  verify(token: string): VerifyResult {
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, reason: 'invalid' };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    let p: Payload;
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (this.now() - p.t > this.maxAgeMs) return { ok: false, reason: 'expired' };
    const face = new Uint8Array(Buffer.from(p.f, 'base64'));
    if (face.length !== FACE_BYTES || p.s.length !== LABELS.length) return { ok: false, reason: 'invalid' };
    const scores = Object.fromEntries(LABELS.map((l, i) => [l, p.s[i]])) as Scores;
    return { ok: true, subject: { model: p.m, scores, face, issued: p.t } };
  }

  /** Verifies the token and spends it; a second redeem of the same token is 'used'. */
  redeem(token: string): RedeemResult {
    const checked = this.verify(token);
    if (!checked.ok) return checked;
    const id = token.slice(token.indexOf('.') + 1);
    const t = this.now();
    if (t - this.lastSweep > 60_000) {
      this.lastSweep = t;
      for (const [k, expires] of this.spent) if (expires < t) this.spent.delete(k);
    }
    if (this.spent.has(id)) return { ok: false, reason: 'used' };
    this.spent.set(id, checked.subject.issued + this.maxAgeMs);
    return checked;
  }

  /** Makes a redeemed token good again (its flag could not be saved). */
  release(token: string): void {
    this.spent.delete(token.slice(token.indexOf('.') + 1));
  }
}
