/**
 * The page's TF.js (the global `tf` of tf.min.js), standing in for backend.ts
 * in private mode's browser bundle: the bundler (server/private-bundle.ts)
 * resolves every import of tf/backend.js to this file, so the shared pipeline
 * modules run unchanged on the TF.js the page loaded, and nothing of
 * backend.ts (Node's backend choice, wasm files on disk) reaches the browser.
 */
import type * as TF from '@tensorflow/tfjs';

const pageTf = (globalThis as { tf?: typeof TF }).tf;
if (!pageTf) throw new Error('TF.js must be loaded (the global tf) before the private-mode pipeline');

export const tf: typeof TF = pageTf;
