/**
 * What the page's Share panel knows about the public link of `--share`: it
 * opens after the server has started (or fails), so the panel reads this
 * object on every request rather than a value fixed at start-up. Also the
 * password that protects a public link when no --auth was given.
 */
import { randomInt } from 'node:crypto';
import type { Credential } from '../http/middleware/auth.js';

export interface ShareLinkState {
  status: 'opening' | 'open' | 'failed';
  /** The public https link once it is open. */
  url?: string;
  /** The generated login, shown with the link (absent when --auth was given). */
  login?: Credential;
}

/** No 0/O, 1/l/I: a password read off a screen or a QR panel is typed by hand. */
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const GROUPS = 4;
const GROUP_LENGTH = 5;

/** 20 characters from 32 (100 bits), in groups of five: "k7mqe-4rtzn-...". */
export function generatePassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let s = '';
    for (let i = 0; i < GROUP_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

/** The user name of the generated login. */
export const SHARE_USER = 'guest';

export function generateShareLogin(): Credential {
  return { username: SHARE_USER, password: generatePassword() };
}
