/** Chooses the model a request asked for, with messages for the two ways that fails. */
import type { LoadedModel, ModelRegistry } from '../inference/registry.js';
import { HttpError } from './errors.js';

export const NO_MODELS_MESSAGE = 'No model is loaded yet, so photos cannot be analysed. Train one with "npm run train" and restart the server.';

export function pickModel(registry: ModelRegistry, id?: string | null): LoadedModel {
  if (registry.models.length === 0) throw new HttpError(503, NO_MODELS_MESSAGE);
  const entry = registry.get(id);
  if (!entry) {
    throw new HttpError(400, `There is no model called "${id}". Available: ${registry.models.map((m) => m.id).join(', ')}.`);
  }
  return entry;
}
