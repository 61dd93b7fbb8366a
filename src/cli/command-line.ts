import { shortFolderPath, shortPath } from '../artifacts/card.js';

/**
 * The command as a user would type it, for the card: folder options that only say where
 * files went (--runs, --out, --models, --resume) are left out, and paths are shortened to their
 * file names, so a card shows no paths of the training machine. A model folder inside the
 * project (--teacher models/ensemble) keeps its path from there, which names it on any copy.
 */
export function runCommand(argv: string[], script = 'train'): string {
  const dropWithValue = new Set(['--runs', '--out', '--models']);
  const pathValued = new Set(['--data', '--base', '--init']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag === '--resume') continue;
    const hasValue = inline !== undefined;
    const value = hasValue ? inline : argv[i + 1];
    if (dropWithValue.has(flag)) {
      if (!hasValue) i++;
      continue;
    }
    if (pathValued.has(flag) && value !== undefined) {
      out.push(flag, shortPath(value));
      if (!hasValue) i++;
      continue;
    }
    if (flag === '--teacher' && value !== undefined) {
      out.push(flag, shortFolderPath(value));
      if (!hasValue) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return [`npm run ${script} --`, ...out].join(' ');
}
