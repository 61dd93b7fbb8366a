/**
 * `npm run compare` writes its notes and preprocessing texts into
 * comparison.json in English. The page shows them in its own language: each
 * `cmptext.*` message is a known English phrase (its {params} stand for
 * words such as "PublicTest" or "64"); where a phrase occurs in a text, it is
 * replaced by the same message in the page's language. Text that matches no
 * phrase (a card's own notes, written by hand) stays as it is.
 */
import { en, type MessageKey } from '../i18n/en.js';
import type { Translate } from '../i18n/index.js';

interface Phrase {
  key: MessageKey;
  pattern: RegExp;
  names: string[];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The English message as a pattern: literal text, each {name} one word-like token. */
function phrase(key: MessageKey): Phrase {
  const names: string[] = [];
  const source = en[key]
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (!m) return escapeRegExp(part);
      names.push(m[1]);
      return '([\\w.\\-/]+)';
    })
    .join('');
  return { key, pattern: new RegExp(source, 'g'), names };
}

// Longest first, so a whole sentence wins over a phrase inside it.
const PHRASES: Phrase[] = (Object.keys(en) as MessageKey[])
  .filter((k) => k.startsWith('cmptext.'))
  .sort((a, b) => en[b].length - en[a].length)
  .map(phrase);

export function translateComparisonText(text: string, t: Translate): string {
  let out = text;
  for (const p of PHRASES) {
    out = out.replace(p.pattern, (...m: string[]) => t(p.key, Object.fromEntries(p.names.map((n, i) => [n, m[i + 1]]))));
  }
  return out;
}
