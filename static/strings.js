// The page's language for the browser scripts: the strings of the JSON block
// #ui-strings (layout.eta; a data block, which a strict CSP allows). Each
// caller passes its English text as the fallback; `{name}` in a string is
// filled from `params`.
let strings = {};
try {
  strings = JSON.parse(document.getElementById('ui-strings')?.textContent || '{}');
} catch {
  /* English fallbacks */
}

export function t(key, fallback, params) {
  // As the server's translator fills them (src/server/i18n): every {name} with a value, the rest left as they are.
  return (strings[key] || fallback).replace(/\{(\w+)\}/g, (m, name) => (params && name in params ? String(params[name]) : m));
}
