/**
 * Splits a functional model at a layer boundary into a frozen `bottom`, run in
 * inference mode outside the gradient tape, and a trainable `top` that shares
 * the same layer objects (and so the same weights). Backpropagation then only
 * pays for the top: this is what makes transfer learning fast on CPU, and it
 * keeps the frozen batch-norm layers in inference mode as Keras recommends.
 */
import { tf } from '../tf/backend.js';
import { skipInputGradient } from './input-gradient.js';

export interface SplitModel {
  bottom: tf.LayersModel | null;
  top: tf.LayersModel;
}

type ST = tf.SymbolicTensor;

/**
 * Cuts `model` just before the layer named `firstTopLayer` (null: nothing frozen).
 * Nothing needs the gradient of the top's input, so its first convolutions skip it.
 */
export function splitModel(model: tf.LayersModel, firstTopLayer: string | null): SplitModel {
  const { bottom, top } = cut(model, firstTopLayer);
  skipInputGradient(top);
  return { bottom, top };
}

function cut(model: tf.LayersModel, firstTopLayer: string | null): SplitModel {
  if (firstTopLayer === null) return { bottom: null, top: model };
  const layers = model.layers;
  const start = layers.findIndex((l) => l.name === firstTopLayer);
  if (start < 0) throw new Error(`no layer named "${firstTopLayer}" to split the model at`);
  const cut = layers[start].inboundNodes[0].inputTensors as ST[];
  if (cut.length !== 1) throw new Error(`layer "${firstTopLayer}" has ${cut.length} inputs; split before a single-input layer`);
  const bottom = tf.model({ inputs: model.inputs, outputs: cut[0], name: `${model.name}_bottom` });
  const topInput = tf.input({ shape: cut[0].shape.slice(1) as number[], name: `${model.name}_top_input` });
  const mapped = new Map<number, ST>([[cut[0].id, topInput]]);
  for (const layer of layers.slice(start)) {
    const node = layer.inboundNodes[0];
    const ins = (node.inputTensors as ST[]).map((t) => {
      const m = mapped.get(t.id);
      if (!m) throw new Error(`cannot split before "${firstTopLayer}": layer "${layer.name}" reads "${t.name}" from below the cut`);
      return m;
    });
    const out = layer.apply(ins.length === 1 ? ins[0] : ins) as ST;
    mapped.set((node.outputTensors as ST[])[0].id, out);
  }
  const finalOut = mapped.get(model.outputs[0].id);
  if (!finalOut) throw new Error('split lost the model output');
  return { bottom, top: tf.model({ inputs: topInput, outputs: finalOut, name: `${model.name}_top` }) };
}
