/**
 * Where the server's files are, resolved from this module rather than the
 * working directory, so `npm start` and the tests work from any folder.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VIEWS_DIR = path.join(PROJECT_ROOT, 'views');
export const STATIC_DIR = path.join(PROJECT_ROOT, 'static');

const require = createRequire(import.meta.url);

/** Absolute path of a file inside an installed npm package, or null when the package is absent. */
export function packageFile(pkg: string, relative: string): string | null {
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), relative);
  } catch {
    return null;
  }
}
