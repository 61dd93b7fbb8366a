/**
 * The interface languages: English and Bahasa Indonesia. Every string a person
 * reads comes from en.ts / id.ts by key; id.ts is typed against en.ts, so a
 * missing translation is a type error rather than an English word on an
 * Indonesian page.
 */
import { LABELS, type Label } from '../../types.js';
import { en, type MessageKey } from './en.js';
import { id } from './id.js';

export const LOCALES = ['en', 'id'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';
/** Each language's name in itself, for the switch. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', id: 'Bahasa Indonesia' };

export type { MessageKey };
export type Messages = Record<MessageKey, string>;
const CATALOGS: Record<Locale, Messages> = { en, id };

export type Params = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: Params) => string;

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** `t('flag.saved', { label: 'sad' })`: the message with each {name} filled in. */
export function translator(locale: Locale): Translate {
  const messages = CATALOGS[locale];
  return (key, params) => {
    // Templates build some keys at run time ('label.' + name): an unknown key
    // shows itself rather than crash the page; tests check every key exists.
    const text = messages[key] ?? en[key] ?? String(key);
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/**
 * For messages that carry their own markup (`<code>`, `<strong>`), printed
 * with `<%~ %>`: the message is ours and trusted, every parameter is escaped.
 */
export function htmlTranslator(locale: Locale): Translate {
  const t = translator(locale);
  return (key, params) => t(key, params && Object.fromEntries(Object.entries(params).map(([k, v]) => [k, escapeHtml(String(v))])));
}

/** The seven labels in a language, in FER2013 order. */
export function labelNames(t: Translate): Record<Label, string> {
  return Object.fromEntries(LABELS.map((l) => [l, t(`label.${l}`)])) as Record<Label, string>;
}
