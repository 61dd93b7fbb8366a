/**
 * Running under a sub-path behind a reverse proxy (`--base-path /ekspresi`).
 *
 * Routes are always registered at the root ("/predict"). A request may come
 * with the prefix (the proxy passes the path on as it is) or without it (the
 * proxy strips it); `basePathGetter` makes both route the same way. Only the
 * URLs the server writes into pages, headers and documents carry the prefix.
 */
import { getPath } from 'hono/utils/url';

/** "/demo/" -> "/demo", "/" or "" -> "" (no prefix). Throws on values a URL path cannot start with. */
export function normaliseBasePath(value: string | undefined | null): string {
  const raw = (value ?? '').trim();
  if (raw === '' || raw === '/') return '';
  const withSlash = raw.startsWith('/') ? raw : `/${raw}`;
  const trimmed = withSlash.replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed)) {
    throw new Error(`The base path "${value}" is not a plain URL path like /ekspresi.`);
  }
  return trimmed;
}

/** A Hono `getPath` that strips `base` from the front of the path when it is there. */
export function basePathGetter(base: string): ((request: Request) => string) | undefined {
  if (!base) return undefined;
  return (request) => {
    const p = getPath(request);
    if (p === base) return '/';
    return p.startsWith(`${base}/`) ? p.slice(base.length) : p;
  };
}

/**
 * A request path made safe to print as a link on this site: "//evil.example/x"
 * or "/\evil.example" would be read by a browser as another host, so leading
 * slashes and backslashes become one "/", and other backslashes are escaped.
 */
export function localPath(path: string): string {
  return `/${path.replace(/^[/\\]+/, '').replace(/\\/g, '%5C')}`;
}
