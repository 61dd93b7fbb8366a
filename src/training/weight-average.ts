/**
 * An exponential moving average of a model's weights (Polyak averaging): the
 * average of the last few hundred steps is usually a better model than the
 * weights of the last step, whose validation accuracy swings from epoch to
 * epoch. Training updates the live weights; evaluation and export use the average.
 */
import { tf } from '../tf/backend.js';

export class WeightAverage {
  private readonly shadow: tf.Variable[];

  /** `initial`: averaged weights to continue from (a checkpoint); default: the model's current weights. */
  constructor(
    private readonly model: tf.LayersModel,
    private readonly decay: number,
    initial?: tf.Tensor[],
  ) {
    const start = initial ?? model.weights.map((w) => w.read());
    if (start.length !== model.weights.length)
      throw new Error(`weight average: ${start.length} tensors for ${model.weights.length} weights`);
    this.shadow = start.map((t) => tf.variable(t, false));
  }

  /**
   * Folds the current weights in after optimisation step `step` (0-based). The decay
   * ramps up over the first steps, so the random initial weights are soon forgotten.
   */
  update(step: number): void {
    const d = Math.min(this.decay, (1 + step) / (10 + step));
    tf.tidy(() => {
      this.model.weights.forEach((w, i) => {
        this.shadow[i].assign(tf.add(tf.mul(this.shadow[i], d), tf.mul(w.read(), 1 - d)));
      });
    });
  }

  /** The averaged weights themselves (the trainer flushes their near-zero values). */
  get variables(): readonly tf.Variable[] {
    return this.shadow;
  }

  /** Runs `fn` with the averaged weights in the model, then puts the live weights back. */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    const live = this.model.weights.map((w) => w.read().clone());
    this.model.setWeights(this.shadow);
    try {
      return await fn();
    } finally {
      this.model.setWeights(live);
      tf.dispose(live);
    }
  }

  /** The averaged tensors, named like the model's weights (for checkpoints). */
  named(): Array<{ name: string; tensor: tf.Tensor }> {
    return this.model.weights.map((w, i) => ({ name: `${i}:${w.originalName}`, tensor: this.shadow[i] }));
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
