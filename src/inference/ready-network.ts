/**
 * A loaded layers model made ready to serve: compiled (fused-model.ts) where
 * the compiled copy gives the same answers, warmed up, and whether its last
 * layer gives probabilities. The server's registry and private mode's browser
 * bundle both call this, so a network runs the same way on either side.
 */
import { tf } from '../tf/backend.js';
import { compileChecked, type CompiledModel, type InferenceFn } from './fused-model.js';
import type { InputSpec } from '../artifacts/card.js';

export interface ReadyNetwork {
  /** The compiled model's run, or `model.predict` for a model that does not compile. */
  run: InferenceFn;
  compiled: CompiledModel | null;
  /** False when the last layer gives logits; predict then applies softmax. */
  outputsProbabilities: boolean;
}

function lastActivation(model: tf.LayersModel): string | undefined {
  const last = model.layers[model.layers.length - 1];
  const config = last.getConfig() as { activation?: unknown };
  return typeof config.activation === 'string' ? config.activation : undefined;
}

/** Throws when the model does not run; the compiled copy is freed then, `model` stays the caller's. */
export function readyNetwork(model: tf.LayersModel, input: InputSpec): ReadyNetwork {
  let compiled: CompiledModel | null = null;
  try {
    compiled = compileChecked(tf, model, input);
    const run: InferenceFn = compiled ? compiled.run : (x) => model.predict(x) as tf.Tensor;
    // One warm-up prediction: compiles the kernels now rather than on a
    // user's first request, and proves the weights actually run.
    tf.tidy(() => {
      const v = run(tf.zeros([1, input.size, input.size, input.channels])).dataSync();
      if (!Array.from(v).every(Number.isFinite)) throw new Error('model produced non-finite outputs on a blank face');
    });
    return { run, compiled, outputsProbabilities: lastActivation(model) === 'softmax' };
  } catch (e) {
    compiled?.dispose();
    throw e;
  }
}
