/**
 * Debian's chromium through playwright-core, as every browser test launches
 * it: where it is (CHROMIUM_PATH), why the test skips without it, the
 * headless flags, and test-output/ for the screenshots.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { BROWSER_ARGS, CHROMIUM } from '../../src/bench/chromium.js';
import { PROJECT_ROOT } from '../../src/server/paths.js';

export { CHROMIUM };

/** Where the browser tests keep their screenshots. */
export const TEST_OUTPUT = path.join(PROJECT_ROOT, 'test-output');

/** Why browser tests skip, or false when chromium is there. */
export const noChromium: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...BROWSER_ARGS, ...extraArgs] });
}
