/**
 * The architectures `--arch` can name. A new architecture is one file that
 * exports an `Architecture` (architecture.ts) and one line here.
 */
import type { tf } from '../../tf/backend.js';
import type { InputSpec } from '../../artifacts/card.js';
import { splitModel, type SplitModel } from '../split-model.js';
import type { Architecture, ArchSettings, Phase } from './architecture.js';
import { customCnn } from './custom-cnn.js';
import { mobileNetV2 } from './mobilenetv2.js';

export const ARCHITECTURES = {
  cnn: customCnn,
  mobilenetv2: mobileNetV2,
} satisfies Record<string, Architecture>;

export type ArchName = keyof typeof ARCHITECTURES;
export const ARCH_NAMES = Object.keys(ARCHITECTURES) as ArchName[];

export type { Architecture, ArchSettings, Phase };

/** The architecture called `name`; throws a readable error for an unknown one. */
export function architectureOf(name: string): Architecture {
  if (!Object.hasOwn(ARCHITECTURES, name)) throw new Error(`unknown architecture "${name}" (known: ${ARCH_NAMES.join(', ')})`);
  return ARCHITECTURES[name as ArchName];
}

export function phasesOf(s: ArchSettings): Phase[] {
  return architectureOf(s.arch).phases(s);
}

export interface BuiltArchitecture {
  model: tf.LayersModel;
  input: InputSpec;
  /** The model cut before `firstTopLayer` into a frozen bottom and a trained top (cached per cut). */
  split(firstTopLayer: string | null): SplitModel;
}

export async function buildArchitecture(s: ArchSettings, log: (m: string) => void): Promise<BuiltArchitecture> {
  const { model, input } = await architectureOf(s.arch).build(s, log);
  const cache = new Map<string, SplitModel>();
  return {
    model,
    input,
    split(first) {
      const key = first ?? '';
      let sm = cache.get(key);
      if (!sm) {
        sm = splitModel(model, first);
        cache.set(key, sm);
      }
      return sm;
    },
  };
}
