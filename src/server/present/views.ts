/**
 * The eta templates in views/, behind typed functions so a route cannot pass
 * a template data it does not expect. Output is HTML-escaped by default
 * (`<%= %>`); `<%~ %>` is used only for HTML we rendered ourselves.
 */
import type { Example } from './examples.js';
import { uiLocals } from '../http/request-context.js';
import { createEta } from './ui-eta.js';
import type { ModelOption, ResultView } from './view-models.js';
import type { SkippedModel } from '../../inference/registry.js';
import type { CompareView } from './compare-view.js';
import type { SideBySideView } from './side-by-side-view.js';
import type { FlagRecord } from '../flagging/store.js';
import type { Label } from '../../types.js';
import type { ApiOperationView } from './api-page.js';

export interface IndexData {
  models: ModelOption[];
  examples: Example[];
  examplesCredit: string;
  maxUploadMb: string;
  maxUploadBytes: number;
  /** Already rendered result or error partial, for the no-JavaScript POST. */
  resultHtml?: string;
}

export interface NoModelsData {
  modelsDir: string;
  skipped: SkippedModel[];
}

/** The /compare page when comparison.json is missing (problem: null) or unreadable. */
export interface CompareMissingData {
  file: string;
  problem: string | null;
}

/** The video timeline page: the model picker, and whether the browser can run the models at all. */
export interface VideoData {
  models: ModelOption[];
  privateMode: boolean;
  noModels: boolean;
}

export interface FlagDoneData {
  label: Label;
  page: boolean;
}

export interface FlaggedRowView extends FlagRecord {
  cropUrl: string;
  predictedPercent: string;
  createdText: string;
}
export interface FlaggedData {
  enabled: boolean;
  total: number;
  rows: FlaggedRowView[];
  counts: Array<{ label: Label; n: number }>;
  newerHref: string | null;
  olderHref: string | null;
  message?: string;
}

export interface ApiPageData {
  documentUrl: string;
  operations: ApiOperationView[];
  auth: boolean;
}

export interface ShareData {
  url: string;
  qrDataUrl: string | null;
  reachable: 'lan' | 'public' | 'loopback';
  page: boolean;
  /** The --share link's state, when the server was started with --share. */
  tunnel?: 'opening' | 'open' | 'failed';
  /** The generated login that guards a --share link. */
  login?: { username: string; password: string };
}

export interface Views {
  index(data: IndexData): string;
  result(view: ResultView): string;
  /** Every model's bars for the same faces (side-by-side mode). */
  resultAll(view: SideBySideView): string;
  error(message: string): string;
  noModels(data: NoModelsData): string;
  notFound(): string;
  compare(view: CompareView): string;
  compareMissing(data: CompareMissingData): string;
  video(data: VideoData): string;
  /** The flag form's answer, /flagged, /api and /share. */
  flagDone(data: FlagDoneData): string;
  flagged(data: FlaggedData): string;
  api(data: ApiPageData): string;
  share(data: ShareData): string;
}

export function createViews(): Views {
  // Every template also gets it.t / it.lang / it.base (request-context.ts).
  const eta = createEta();
  // Page titles in the request's language.
  const title = (key: 'index.title' | 'nomodels.title' | 'notfound.title' | 'compare.title' | 'video.title') => uiLocals().t(key);
  return {
    index: (data) => eta.render('./index', { title: title('index.title'), ...data }),
    result: (view) => eta.render('./result', view),
    resultAll: (view) => eta.render('./result-all', view),
    error: (message) => eta.render('./error', { message }),
    noModels: (data) => eta.render('./no-models', { title: title('nomodels.title'), ...data }),
    notFound: () => eta.render('./not-found', { title: title('notfound.title') }),
    compare: (view) => eta.render('./compare', { title: title('compare.title'), ...view }),
    compareMissing: (data) => eta.render('./compare-missing', { title: title('compare.title'), ...data }),
    video: (data) => eta.render('./video', { title: title('video.title'), ...data }),
    flagDone: (data) => eta.render('./flag-done', data),
    flagged: (data) => eta.render('./flagged', data),
    api: (data) => eta.render('./api', data),
    share: (data) => eta.render('./share', data),
  };
}
