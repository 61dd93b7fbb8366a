/** What the routes share: built once by createApp, passed to each route module. */
import type { AnalyseOptions } from '../inference/pipeline.js';
import type { ModelRegistry } from '../inference/registry.js';
import type { ExampleSet } from './present/examples.js';
import type { Flagging } from './flagging/index.js';
import type { Views } from './present/views.js';

export interface AppDeps {
  registry: ModelRegistry;
  examples: ExampleSet;
  views: Views;
  /** Decoding limits and the server's analysis defaults (max faces, detector). */
  decode: AnalyseOptions;
  maxUploadBytes: number;
  /** Shown on the no-models page. */
  modelsDir: string;
  log: (msg: string) => void;
  /** URL prefix ('' or '/sub', --base-path): links and redirects start with it. */
  base: string;
  /** Flag signer + store; null when the server keeps no data folder. */
  flagging: Flagging | null;
  /** Private mode's routes are served (the browser can run the models itself). */
  privateMode: boolean;
}
