/**
 * The eta templates in views/, behind typed functions so a route cannot pass
 * a template data it does not expect. Output is HTML-escaped by default
 * (`<%= %>`); `<%~ %>` is used only for HTML we rendered ourselves.
 */
import { Eta } from 'eta';
import type { Example } from './examples.js';
import { VIEWS_DIR } from './paths.js';
import type { ModelOption, ResultView } from './view-models.js';
import type { SkippedModel } from '../inference/registry.js';

export interface IndexData {
  models: ModelOption[];
  examples: Example[];
  examplesCredit: string;
  maxUploadMb: string;
  maxUploadBytes: number;
  /** Already rendered result or error partial, for the no-JavaScript POST. */
  resultHtml?: string;
}

export interface NoModelsData { modelsDir: string; skipped: SkippedModel[] }

export interface Views {
  index(data: IndexData): string;
  result(view: ResultView): string;
  error(message: string): string;
  noModels(data: NoModelsData): string;
  notFound(): string;
}

export function createViews(): Views {
  const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });
  return {
    index: (data) => eta.render('./index', { title: 'Facial expression demo', ...data }),
    result: (view) => eta.render('./result', view),
    error: (message) => eta.render('./error', { message }),
    noModels: (data) => eta.render('./no-models', { title: 'No models yet', ...data }),
    notFound: () => eta.render('./not-found', { title: 'Page not found' }),
  };
}
