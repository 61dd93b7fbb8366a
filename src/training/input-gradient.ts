/**
 * A convolution that reads the trained model's own input needs no gradient for
 * that input: nothing below it learns. TF.js's Conv2D layer calls the fused
 * conv op, whose custom gradient computes the input gradient eagerly with the
 * filter's; the plain conv2d op's gradient is lazy, so the tape skips it.
 * In training mode such layers call the plain op (the same forward kernel; its
 * gradient stays correct wherever the layer is reused); inference and the
 * saved model are untouched.
 */
import { tf } from '../tf/backend.js';

type ST = tf.SymbolicTensor;
type Kwargs = { training?: boolean } & Record<string, unknown>;

/** The parts of tfjs-layers' Conv2D this needs (its class is not exported with types). */
interface ConvInternals {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: 'same' | 'valid';
  dataFormat: string;
  dilationRate: [number, number];
  activation: { apply(x: tf.Tensor): tf.Tensor };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[];
}

const done = new WeakSet<object>();

/** Patches the Conv2D layers of `model` that read its input; returns their names. */
export function skipInputGradient(model: tf.LayersModel): string[] {
  const inputIds = new Set(model.inputs.map((t) => t.id));
  const patched: string[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D') continue;
    // A layer shared with a bigger model (the top of a split) has one node per model.
    const reads = layer.inboundNodes.flatMap((n) => n.inputTensors as ST[]);
    if (!reads.some((t) => inputIds.has(t.id))) continue;
    const conv = layer as unknown as ConvInternals;
    if (conv.dataFormat !== 'channelsLast') continue;
    patched.push(layer.name);
    if (done.has(conv)) continue;
    done.add(conv);
    const fused = conv.call.bind(conv);
    conv.call = (inputs, kwargs) => {
      if (kwargs?.training !== true) return fused(inputs, kwargs);
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        let y: tf.Tensor = tf.conv2d(x, conv.kernel.read() as tf.Tensor4D, conv.strides, conv.padding, 'NHWC', conv.dilationRate);
        if (conv.bias) y = tf.add(y, conv.bias.read());
        return conv.activation.apply(y);
      });
    };
  }
  return patched;
}
