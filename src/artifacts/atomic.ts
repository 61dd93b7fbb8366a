/**
 * Atomic writes: a folder is written to a temporary sibling first, then
 * renamed into place, so a reader never sees a half-written model or
 * checkpoint; a single file is written beside its target and renamed over it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Tidies what a writer killed mid-write (SIGKILL, power loss) left next to
 * `dir`: its temporary folders (named with its pid) are removed, and if it
 * died between the two renames of the swap (`dir` moved aside, the new folder
 * complete but not yet renamed in), the swap is finished. Folders of live
 * writers are left alone. Call before reading a folder another run may have
 * been writing (--resume); writeFolderAtomically calls it too.
 */
export async function recoverFolder(dir: string): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  const prefix = `.${path.basename(dir)}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return;
  }
  const stale = names.filter((n) => {
    if (!n.startsWith(prefix)) return false;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
  });
  if (stale.length === 0) return;
  const hasDir = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (!hasDir) {
    // A new folder is renamed aside to .old only once the new one is complete.
    const swapped = stale.find((n) => !n.endsWith('.old') && stale.includes(`${n}.old`));
    const old = stale.find((n) => n.endsWith('.old'));
    const restore = swapped ?? old;
    if (restore) await fs.rename(path.join(parent, restore), dir);
  }
  for (const n of stale) await fs.rm(path.join(parent, n), { recursive: true, force: true });
}

/** Writes files into a fresh temporary sibling of `dir`, then swaps it into place. */
export async function writeFolderAtomically(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  await recoverFolder(dir);
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(tmp);
  try {
    for (const [name, content] of Object.entries(files)) {
      const fh = await fs.open(path.join(tmp, name), 'w');
      try {
        await fh.writeFile(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    const old = `${tmp}.old`;
    let hadOld = false;
    try {
      await fs.rename(dir, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await fs.rename(tmp, dir);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Replaces one file: written beside it, then renamed over it. */
export async function writeFileAtomically(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await fs.writeFile(tmp, content);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
