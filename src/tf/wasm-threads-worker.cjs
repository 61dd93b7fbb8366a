/**
 * The script of each pthread worker of the threaded wasm backend in Node.
 *
 * @tensorflow/tfjs-backend-wasm ships Emscripten's pthread worker only as a
 * string (wasm-out/tfjs-backend-wasm-threaded-simd.worker.js exports
 * `wasmWorkerContents`, meant for a browser Blob URL, which Node's
 * worker_threads cannot start). This file runs that string as the worker's
 * top-level script: it needs `require` and `__filename` as globals (it is
 * written for a classic script), and its "\n" escapes, which the template
 * literal turned into raw newlines, restored (as the package does for Blobs).
 */
'use strict';
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');

globalThis.require = require;
globalThis.__filename = __filename;
(0, eval)(wasmWorkerContents.replace(/\n/g, '\\n'));
