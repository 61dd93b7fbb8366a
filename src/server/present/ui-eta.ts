/**
 * The one Eta instance shape every view uses: HTML-escaped by default, and
 * every render gets the request's UI locals (`it.t`, `it.lang`, `it.base`,
 * ...; see request-context.ts) under the data the caller passes. Eta hands
 * `it` on to layouts and includes, so partials see them too.
 */
import { Eta } from 'eta';
import { VIEWS_DIR } from '../paths.js';
import { uiLocals } from '../http/request-context.js';

export function createEta(): Eta {
  const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });
  // `render` is an instance field in Eta, so it is wrapped here, not overridden.
  const render = eta.render;
  eta.render = function renderWithLocals(template, data, meta) {
    return render.call(this, template, { ...uiLocals(), ...data }, meta);
  };
  return eta;
}
