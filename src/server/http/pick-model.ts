/** Chooses the model a request asked for, with messages for the two ways that fails. */
import type { LoadedModel, ModelRegistry } from '../../inference/registry.js';
import { HttpError } from './errors.js';

export function pickModel(registry: ModelRegistry, id?: string | null): LoadedModel {
  if (registry.models.length === 0) throw new HttpError(503, 'err.noModels');
  const entry = registry.get(id);
  if (!entry) {
    throw new HttpError(400, 'err.unknownModel', { id: String(id), list: registry.models.map((m) => m.id).join(', ') });
  }
  return entry;
}
