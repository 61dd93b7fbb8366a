/**
 * What the server shows the public must not map out the machine a model was
 * trained on: absolute paths in cards, comparison notes and messages
 * ("/work/runs/exp/cw-sqrt/checkpoint") become their last part
 * ("…/checkpoint"). The files in models/ stay as they are; this runs on what
 * is served. URLs and paths inside the project ("models/custom-cnn") are left alone.
 */

// An absolute POSIX path of two or more parts, not inside a URL or a relative
// path (nothing word-like, '.', ':' or '/' just before it); a home path; a
// Windows drive path; a file: URL; a path that climbs out of the project
// ("../shared/data/..."), which only means something on that machine.
const LOCAL_PATH =
  /(?:file:\/\/|(?<![\w.:/\\~-]))(?:~|[A-Za-z]:)?(?:[/\\][^\s/\\"'`()<>,;]+){2,}[/\\]?|~[/\\][^\s"'`()<>,;]+|\b[A-Za-z]:\\[^\s"'`()<>,;]*|(?<![\w.])\.\.(?:[/\\][^\s/\\"'`()<>,;]+)+[/\\]?/g;

function lastPart(match: string): string {
  const parts = match.split(/[/\\]/).filter(Boolean);
  return `…/${parts[parts.length - 1] ?? ''}`;
}

/** A sentence with every local path cut down to its last part. */
export function redactPaths(text: string): string {
  return text.replace(LOCAL_PATH, lastPart);
}

/** The same over every string of a JSON-like value (a card, a comparison). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactPaths(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
