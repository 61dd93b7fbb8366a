/**
 * Error messages in the user's language. The server's errors are thrown with
 * English sentences all over the code (decode.ts, upload.ts, pick-model.ts,
 * ...); rather than thread a translator into each, the error handler passes
 * every message through `localiseMessage`, which recognises the English
 * sentence (each catalogue entry, its {params} as wildcards) and says it in
 * the request's language. A sentence it does not know stays as it is.
 */
import { en, type MessageKey } from './en.js';
import type { Translate } from './index.js';

interface Pattern { key: MessageKey; regex: RegExp; names: string[] }

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "There is no model called "{id}"." -> /^There is no model called "(.+?)"\.$/ with names ['id']. */
function compile(key: MessageKey): Pattern {
  const names: string[] = [];
  const source = en[key].split(/(\{\w+\})/).map((part) => {
    const m = /^\{(\w+)\}$/.exec(part);
    if (!m) return escapeRegex(part);
    names.push(m[1]);
    return '([\\s\\S]+?)';
  }).join('');
  return { key, regex: new RegExp(`^${source}$`), names };
}

const PATTERNS: Pattern[] = (Object.keys(en) as MessageKey[]).filter((k) => k.startsWith('err.')).map(compile);

export function localiseMessage(message: string, t: Translate): string {
  for (const p of PATTERNS) {
    const m = p.regex.exec(message);
    if (m) return t(p.key, Object.fromEntries(p.names.map((n, i) => [n, m[i + 1]])));
  }
  return message;
}
