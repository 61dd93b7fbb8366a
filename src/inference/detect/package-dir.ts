/**
 * Folder of an installed npm package. Found by walking the node_modules
 * search paths rather than resolving `pkg/package.json`, which packages with
 * an "exports" map (@vladmandic/human) do not expose.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export function packageDir(pkg: string): string | null {
  for (const base of require.resolve.paths(pkg) ?? []) {
    const dir = path.join(base, pkg);
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return null;
}

export function packageVersion(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
}
