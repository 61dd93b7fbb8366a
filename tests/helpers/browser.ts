/**
 * Debian's chromium through playwright-core, as every browser test launches
 * it: where it is (CHROMIUM_PATH), why the test skips without it, the
 * headless flags, and test-output/ for the screenshots.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/server/paths.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where the browser tests keep their screenshots. */
export const TEST_OUTPUT = path.join(PROJECT_ROOT, 'test-output');

/** Why browser tests skip, or false when chromium is there. */
export const noChromium: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

/** Headless, no sandbox (containers), and no traffic of its own (updates, sync, QUIC). */
const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...BROWSER_ARGS, ...extraArgs] });
}
