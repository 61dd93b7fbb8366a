/**
 * Flagging as the server uses it: the signer that puts a token on each face
 * result and the store the flags go to. Absent (null) when the server has no
 * data folder, and then the page offers no flag control.
 */
import type { Analysis } from '../../inference/pipeline.js';
import { FlagSigner } from './token.js';
import { FlagStore } from './store.js';

export interface Flagging {
  signer: FlagSigner;
  store: FlagStore;
}

export function openFlagging(dataDir: string): Flagging {
  return { signer: new FlagSigner(), store: FlagStore.open(dataDir) };
}

/** One token per face of an analysis, in face order (what the flag form posts back). */
export function flagTokens(flagging: Flagging | null, analysis: Analysis): Array<string | undefined> {
  if (!flagging) return analysis.faces.map(() => undefined);
  return analysis.faces.map((f) => flagging.signer.sign(analysis.model, f.scores, f.face));
}

export { FlagSigner, FlagStore };

/**
 * Builds a result view and puts each face's flag token on it (the "Wrong?
 * Flag it" form posts it back). `build` is the usual toResultView call.
 */
export async function withFlagTokens<V extends { faces: Array<{ flagToken?: string }> }>(
  flagging: Flagging | null,
  analysis: Analysis,
  build: (a: Analysis) => Promise<V>,
): Promise<V> {
  const view = await build(analysis);
  const tokens = flagTokens(flagging, analysis);
  view.faces.forEach((f, i) => {
    f.flagToken = tokens[i];
  });
  return view;
}
