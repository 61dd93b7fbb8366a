/**
 * What every template needs from the request it answers: the language, the
 * translator and the base path. Kept in an AsyncLocalStorage by one
 * middleware, so views.ts can hand it to every template (and eta passes it on
 * to layouts and includes) without each route threading it through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_LOCALE, htmlTranslator, translator, type Locale, type Translate } from '../i18n/index.js';

export interface UiLocals {
  lang: Locale;
  t: Translate;
  /** `t` for messages with markup, printed raw (`<%~ it.th(...) %>`): parameters are escaped. */
  th: Translate;
  /** URL prefix ('' or '/sub'): every link in a template starts with it. */
  base: string;
  /** Links that switch the language on the current page. */
  langLinks: Array<{ lang: Locale; name: string; href: string; current: boolean }>;
  /** Strings app.js and the other browser scripts show, as JSON for a data block. */
  clientStrings: string;
  /** Whether the "Wrong? Flag it" control is offered. */
  flagging: boolean;
}

const storage = new AsyncLocalStorage<UiLocals>();

/** Outside a request (a test rendering a view directly): English, no prefix. */
function fallback(): UiLocals {
  return {
    lang: DEFAULT_LOCALE,
    t: translator(DEFAULT_LOCALE),
    th: htmlTranslator(DEFAULT_LOCALE),
    base: '',
    langLinks: [],
    clientStrings: '{}',
    flagging: false,
  };
}

export function uiLocals(): UiLocals {
  return storage.getStore() ?? fallback();
}

export function runWithUi<T>(locals: UiLocals, fn: () => T): T {
  return storage.run(locals, fn);
}
