/**
 * The names this server answers to. A request whose Host (or absolute
 * request target) names anything else gets 421: that is how a DNS-rebinding
 * page (evil.example resolving to 127.0.0.1) would reach a server on
 * loopback, and a foreign Host must never end up in a share link or an API
 * example either. Allowed: loopback names, the address the server listens on
 * (every address of this machine, and its host name, when it listens on all
 * interfaces), the --public-url host, --allow-host names, and names added
 * while running (a tunnel's host, once it is open).
 */
import type { MiddlewareHandler } from 'hono';
import os from 'node:os';
import { HttpError } from '../errors.js';
import { uiLocals } from '../request-context.js';
import { isAllInterfaces, isLoopbackHost } from '../../sharing/share.js';

/** "Example.org:8080", "[::1]:7860", "https://x.org/demo/" -> "example.org", "::1", "x.org". */
export function hostnameOf(value: string): string {
  let v = value.trim().toLowerCase();
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(v)) {
    try {
      v = new URL(v).host;
    } catch {
      return '';
    }
  }
  if (v.startsWith('[')) return v.slice(1, v.indexOf(']') > 0 ? v.indexOf(']') : undefined);
  // A bare IPv6 address has several colons; host:port has one.
  if ((v.match(/:/g) ?? []).length === 1) v = v.slice(0, v.indexOf(':'));
  return v.replace(/\.$/, '');
}

export class HostAllowList {
  private readonly names = new Set<string>();

  /** `listenHost`: the --host address; `extra`: more names or URLs. */
  constructor(listenHost: string, extra: Iterable<string> = [], interfaces = os.networkInterfaces()) {
    if (isAllInterfaces(listenHost)) {
      for (const list of Object.values(interfaces)) for (const a of list ?? []) this.add(a.address.replace(/%.*$/, ''));
      const name = os.hostname();
      if (name) {
        this.add(name);
        this.add(`${name}.local`);
      }
    } else {
      this.add(listenHost);
    }
    for (const e of extra) this.add(e);
  }

  /** Allows one more name (a host, host:port or URL). */
  add(hostOrUrl: string): void {
    const h = hostnameOf(hostOrUrl);
    if (h) this.names.add(h);
  }

  allows(host: string): boolean {
    const h = hostnameOf(host);
    if (!h) return false;
    return isLoopbackHost(h) || h.endsWith('.localhost') || this.names.has(h);
  }
}

/** 421 for a request addressed to a name not on the list. */
export function hostCheck(hosts: HostAllowList): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('host');
    // The URL carries the request target's host when one was given ("GET http://x/ HTTP/1.1").
    const target = new URL(c.req.url).host;
    for (const h of header === undefined ? [target] : [header, target]) {
      if (hosts.allows(h)) continue;
      c.header('Cache-Control', 'no-store');
      throw new HttpError(421, uiLocals().t('limit.wrongHost', { host: h.slice(0, 100) }));
    }
    await next();
  };
}
