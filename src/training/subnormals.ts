/**
 * Flushes subnormal float32 values, and values close enough to them to make subnormal products, to zero in the
 * tensors a training step reads.
 *
 * A weight whose data gradient is zero (it reads a channel that no longer fires) still gets L2's pull, and with
 * Adam that pull shrinks it by a constant factor per step: it sinks into float32's subnormal range (below about
 * 1.2e-38) and stays there, and so do its Adam moments. WebAssembly has no flush-to-zero mode, so every multiply
 * that touches a subnormal takes the CPU's slow path. In a long run of the 32x32 CNN, 4.5% of the weights (its last
 * block) ended up subnormal and the run slowed from 64 to 25 images/s over fifteen epochs; the slowdown survived a
 * restart because the checkpoint carried the values. Zero is where these values were heading anyway.
 *
 * Flushing only the subnormals themselves is not enough: on their way down the weights pass through values like
 * 1e-30, whose products with the backward pass's small gradients are subnormal inside the matrix products (a step
 * from a late checkpoint ran about 9% faster with everything below 1e-20 zeroed). Below 1e-20 a value does nothing
 * here: a weight that small moves no pre-activation past batch norm's epsilon, and Adam's moments that small are
 * far under its epsilon (1e-7; the square root of 1e-20 is 1e-10).
 */
import { tf } from '../tf/backend.js';

/** Float32's smallest normal magnitude: every non-zero value below it is subnormal. */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/** Magnitudes below this are set to zero. */
export const FLUSH_BELOW = 1e-20;

/** Optimisation steps between flushes: a value that decays into the range stays there for at most this many. */
export const FLUSH_EVERY_STEPS = 16;

/** Sets every entry of `vars` whose magnitude is below FLUSH_BELOW to zero, in place. */
export function flushNearZero(vars: readonly tf.Variable[]): void {
  tf.tidy(() => {
    for (const v of vars) {
      if (v.dtype !== 'float32') continue;
      v.assign(tf.where(tf.less(tf.abs(v), FLUSH_BELOW), tf.zerosLike(v), v));
    }
  });
}

/**
 * The optimizer's slot variables (Adam's moments, SGD's momentum). `getWeights` hands back the live variables
 * (after a freshly made step-count scalar, which is disposed here); the tests check that flushing reaches them.
 */
export async function optimizerSlots(opt: tf.Optimizer): Promise<tf.Variable[]> {
  const named = await opt.getWeights();
  const slots: tf.Variable[] = [];
  for (const { tensor } of named) {
    if (tensor instanceof tf.Variable) slots.push(tensor);
    else tensor.dispose();
  }
  return slots;
}

/** Counts the subnormal entries of `tensors` (for the tests). */
export function countSubnormals(tensors: readonly tf.Tensor[]): number {
  let n = 0;
  for (const t of tensors) {
    if (t.dtype !== 'float32') continue;
    for (const x of t.dataSync() as Float32Array) if (x !== 0 && Math.abs(x) < FLOAT32_MIN_NORMAL) n++;
  }
  return n;
}
