/**
 * Picks the interface language for each request - `?lang=` (remembered in a
 * cookie), then that cookie, then Accept-Language, then English - with Hono's
 * language detectors, and makes the UI locals (request-context.ts) available
 * to every template rendered while the request is handled.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { setCookie } from 'hono/cookie';
import { detectFromCookie, detectFromHeader, detectFromQuery, type DetectorOptions } from 'hono/language';
import { localPath } from '../http/base-path.js';
import { runWithUi, type UiLocals } from '../http/request-context.js';
import {
  DEFAULT_LOCALE,
  htmlTranslator,
  LOCALE_NAMES,
  LOCALES,
  translator,
  type Locale,
  type MessageKey,
  type Translate,
} from './index.js';

const COOKIE = 'lang';

const DETECT: DetectorOptions = {
  order: ['querystring', 'cookie', 'header'],
  lookupQueryString: 'lang',
  lookupFromPathIndex: 0,
  lookupFromHeaderKey: 'accept-language',
  caches: false,
  ignoreCase: true,
  lookupCookie: COOKIE,
  supportedLanguages: [...LOCALES],
  fallbackLanguage: DEFAULT_LOCALE,
  // "in" is the old ISO code for Indonesian that some systems still send.
  convertDetectedLanguage: (l) => (/^in(-|$)/i.test(l) ? `id${l.slice(2)}` : l),
};

/** Strings the browser scripts show (static/*.js read them from a JSON data block). */
const CLIENT_KEYS = [
  'share.copied',
  'api.copied',
  'limit.retrying',
  'limit.rateRetrying',
  'error.title',
  'index.placeholder',
  'err.tooLarge',
  'err.notPhotoFile',
  'err.heic',
  'label.angry',
  'label.disgust',
  'label.fear',
  'label.happy',
  'label.sad',
  'label.surprise',
  'label.neutral',
  // static/camera.js
  'camera.live',
  'camera.pause',
  'camera.denied',
  'camera.notFound',
  'camera.inUse',
  'camera.failed',
  'camera.failedWith',
  'camera.unsupported',
  'camera.asking',
  'camera.on',
  'camera.noHandOff',
  'camera.snapSent',
  'camera.snapFailed',
  'camera.liveStarting',
  'camera.liveNoFace',
  'camera.liveOneFace',
  'camera.liveFaces',
  'camera.serverBusy',
  'camera.resumesIn',
  'camera.serverStatus',
  'camera.unreachable',
  'camera.networkError',
  'camera.off',
  'camera.hiddenOff',
  // static/camera.js, private mode
  'private.toggle',
  'private.onDevice',
  'private.onServer',
  'private.loading',
  'private.unavailable',
  // static/video/
  'video.ready',
  'video.noPrivate',
  'video.badFile',
  'video.chosen',
  'video.tooMany',
  'video.progress',
  'video.done',
  'video.noFaces',
  'video.cancelled',
  'video.failed',
  'video.face',
  'video.faceSeen',
  'video.frameAt',
  'video.frameAtOne',
  'video.axisTime',
  'video.axisP',
  // static/compare.js
  'compare.chartLoss',
  'compare.chartAcc',
  'compare.axisEpoch',
  'compare.axisLoss',
  'compare.axisAcc',
  'compare.seriesTrain',
  'compare.seriesVal',
  'compare.chartReliability',
  'compare.axisConfidence',
  'compare.axisRight',
  'compare.seriesPerfect',
  'compare.seriesBefore',
  'compare.seriesAfter',
] as const satisfies readonly MessageKey[];

function clientStrings(t: Translate): string {
  const json = JSON.stringify(Object.fromEntries(CLIENT_KEYS.map((k) => [k, t(k)])));
  // Inside <script type="application/json">: no "</script>" may appear.
  return json.replace(/</g, '\\u003c');
}

function langLinks(c: Context, base: string, current: Locale): UiLocals['langLinks'] {
  const get = c.req.method === 'GET';
  return LOCALES.map((lang) => {
    const query = new URLSearchParams(get ? c.req.query() : {});
    query.set('lang', lang);
    return { lang, name: LOCALE_NAMES[lang], href: `${base}${get ? localPath(c.req.path) : '/'}?${query}`, current: lang === current };
  });
}

export interface UiOptions {
  base: string;
  flagging: boolean;
}

export function uiMiddleware(options: UiOptions): MiddlewareHandler {
  const { base } = options;
  return async (c, next) => {
    const chosen = detectFromQuery(c, DETECT) as Locale | undefined;
    if (chosen) {
      setCookie(c, COOKIE, chosen, { path: base || '/', sameSite: 'Lax', httpOnly: true, maxAge: 365 * 24 * 3600 });
    }
    const lang = (chosen ?? detectFromCookie(c, DETECT) ?? detectFromHeader(c, DETECT) ?? DEFAULT_LOCALE) as Locale;
    c.header('Content-Language', lang);
    c.header('Vary', 'Accept-Language, Cookie', { append: true });
    const t = translator(lang);
    const locals: UiLocals = {
      lang,
      t,
      th: htmlTranslator(lang),
      base,
      langLinks: langLinks(c, base, lang),
      clientStrings: clientStrings(t),
      flagging: options.flagging,
    };
    await runWithUi(locals, () => next());
  };
}
