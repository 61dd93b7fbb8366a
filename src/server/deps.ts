/** What the routes share: built once by createApp, passed to each route module. */
import type { DecodeOptions } from '../inference/decode.js';
import type { ModelRegistry } from '../inference/registry.js';
import type { ExampleSet } from './examples.js';
import type { Views } from './views.js';

export interface AppDeps {
  registry: ModelRegistry;
  examples: ExampleSet;
  views: Views;
  decode: DecodeOptions;
  maxUploadBytes: number;
  /** Shown on the no-models page. */
  modelsDir: string;
  log: (msg: string) => void;
}
