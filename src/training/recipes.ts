/**
 * What each architecture trains, and in which phases: the custom CNN in one
 * phase; MobileNetV2 first with only a new head on the frozen ImageNet base
 * (kept as its own artifact, `<name>-frozen`), then fine-tuning its upper
 * blocks at a lower learning rate.
 */
import { tf } from '../tf/backend.js';
import { loadModelFrom } from '../tf/model-io.js';
import type { Arch, InputSpec } from '../types.js';
import { buildCustomCnn, CNN_DEFAULTS, cnnInput, type CnnOptions } from './architectures/custom-cnn.js';
import { adaptBatchNorm, buildMobileNetV2, copyBaseWeights, keepBatchNormInInference, mobilenetInput } from './architectures/mobilenetv2.js';
import { splitModel, type SplitModel } from './split-model.js';

/** Teachable Machine's copy of the Keras MobileNetV2 0.35 ImageNet base (needs internet). */
export const DEFAULT_BASE_URL =
  'https://storage.googleapis.com/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top/model.json';

export interface ArchSettings {
  arch: Arch;
  epochs: number;
  lr: number;
  seed: number;
  /** Custom CNN shape. */
  cnn?: CnnOptions;
  /** MobileNetV2 settings. */
  alpha: number;
  inputSize: number;
  base: string | null;
  headEpochs: number;
  finetuneFrom: number;
  finetuneLr: number;
  /** MobileNetV2 batch norm while fine-tuning: frozen ImageNet statistics, or adapted to the data (batch statistics). */
  finetuneBatchNorm?: 'frozen' | 'adapt';
  dropout: number;
}

export interface Phase {
  name: string;
  /** Last epoch (1-based, inclusive) of this phase. */
  lastEpoch: number;
  /** First layer that trains; everything before it is frozen (null: nothing). */
  firstTopLayer: string | null;
  lr?: number;
  /** Also keep the best model of this phase as models/<artifact>. */
  artifact?: string;
  artifactNote?: string;
}

export function phasesOf(s: ArchSettings & { name: string }): Phase[] {
  if (s.arch === 'cnn') return [{ name: 'train', lastEpoch: s.epochs, firstTopLayer: null }];
  const head = Math.min(s.headEpochs, s.epochs);
  const phases: Phase[] = [{
    name: 'head', lastEpoch: head, firstTopLayer: 'global_average_pooling2d', lr: s.lr,
    artifact: `${s.name}-frozen`,
    artifactNote: 'ImageNet MobileNetV2 used as it is (frozen, inference-mode batch norm); only the new classification head was trained.',
  }];
  if (s.epochs > head) {
    phases.push({ name: 'finetune', lastEpoch: s.epochs, firstTopLayer: `block_${s.finetuneFrom}_expand`, lr: s.finetuneLr });
  }
  return phases;
}

export interface BuiltArchitecture {
  model: tf.LayersModel;
  input: InputSpec;
  split(firstTopLayer: string | null): SplitModel;
}

export async function buildArchitecture(s: ArchSettings, log: (m: string) => void): Promise<BuiltArchitecture> {
  let model: tf.LayersModel;
  let input: InputSpec;
  if (s.arch === 'cnn') {
    model = buildCustomCnn({ ...s.cnn, seed: s.seed });
    input = cnnInput(s.cnn?.inputSize ?? CNN_DEFAULTS.inputSize);
  } else {
    model = buildMobileNetV2({ alpha: s.alpha, inputSize: s.inputSize, dropout: s.dropout, seed: s.seed });
    input = mobilenetInput(s.inputSize);
    if (s.finetuneBatchNorm === 'adapt') adaptBatchNorm(model); else keepBatchNormInInference(model);
    if (s.base) {
      const base = await loadModelFrom(s.base).catch((e: Error) => {
        throw new Error(`cannot load the ImageNet base from ${s.base}: ${e.message}`);
      });
      const n = copyBaseWeights(base, model);
      base.dispose();
      log(`copied ${n} ImageNet weight tensors from ${s.base}`);
    } else {
      log('no --base: MobileNetV2 starts from random weights');
    }
  }
  const cache = new Map<string, SplitModel>();
  return {
    model, input,
    split(first) {
      const key = first ?? '';
      let sm = cache.get(key);
      if (!sm) { sm = splitModel(model, first); cache.set(key, sm); }
      return sm;
    },
  };
}
