/**
 * A model card is shipped and served, so it names no folder of the machine it
 * was trained on: a local path in it (the pretrained base, a warm start's
 * checkpoint) is kept as its last part only, like the card's `command`. URLs
 * stay whole: they mean the same everywhere.
 */
import path from 'node:path';

export function cardPath(p: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p) && !/^file:/i.test(p)) return p;
  return path.basename(p.replace(/^file:\/\//i, '').replace(/[/\\]+$/, '')) || p;
}

/** The run's settings as the card shows them: the paths in them cut to their last part. */
export function cardSettings<T extends { base?: string | null; init?: string | null }>(settings: T): T {
  return {
    ...settings,
    ...(settings.base ? { base: cardPath(settings.base) } : {}),
    ...(settings.init ? { init: cardPath(settings.init) } : {}),
  };
}
