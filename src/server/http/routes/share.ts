/**
 * GET /share: the link to give other people and its QR code. The link is the
 * --public-url when there is one; else the address this page was opened at,
 * unless that is loopback, in which case the LAN address (when the server
 * listens on all interfaces) - a "127.0.0.1" link is useless to anyone else.
 */
import { Hono, type Context } from 'hono';
import { isHtmx } from '../errors.js';
import type { HostAllowList } from '../middleware/host.js';
import { isAllInterfaces, isLoopbackHost, lanAddresses, qrSvgDataUrl } from '../../sharing/share.js';
import type { ShareLinkState } from '../../sharing/share-link.js';
import type { ShareData, Views } from '../../present/views.js';

export interface ShareRouteDeps {
  views: Views;
  base: string;
  /** The address the server listens on (--host). */
  listenHost: string;
  publicUrl?: string;
  trustProxy: boolean;
  /** The names the server answers to: a forwarded host must be one of them too. */
  hosts: HostAllowList;
  shareLink?: ShareLinkState;
}

function localPort(c: Context): number | undefined {
  const env = c.env as { incoming?: { socket?: { localPort?: number } } } | undefined;
  return env?.incoming?.socket?.localPort;
}

export function shareTarget(c: Context, deps: ShareRouteDeps): Pick<ShareData, 'url' | 'reachable'> {
  if (deps.publicUrl) return { url: deps.publicUrl, reachable: 'public' };
  const req = new URL(c.req.url);
  let host = req.host;
  let protocol = req.protocol;
  if (deps.trustProxy) {
    const forwarded = c.req.header('x-forwarded-host')?.split(',')[0].trim();
    if (forwarded && deps.hosts.allows(forwarded)) host = forwarded;
    const proto = c.req.header('x-forwarded-proto')?.split(',')[0].trim();
    if (proto === 'http' || proto === 'https') protocol = `${proto}:`;
  }
  const hostname = host.replace(/:\d+$/, '');
  if (!isLoopbackHost(hostname)) {
    return { url: `${protocol}//${host}${deps.base}/`, reachable: protocol === 'https:' ? 'public' : 'lan' };
  }
  if (isAllInterfaces(deps.listenHost)) {
    const lan = lanAddresses()[0];
    const port = req.port || String(localPort(c) ?? '');
    if (lan) return { url: `http://${lan.includes(':') ? `[${lan}]` : lan}${port ? `:${port}` : ''}${deps.base}/`, reachable: 'lan' };
  }
  return { url: `${protocol}//${host}${deps.base}/`, reachable: 'loopback' };
}

export function shareRoutes(deps: ShareRouteDeps): Hono {
  const app = new Hono();
  app.get('/share', async (c) => {
    const link = deps.shareLink;
    // The --share link wins once it is open; until then (or if it failed) the usual address.
    const target = link?.status === 'open' && link.url ? { url: link.url, reachable: 'public' as const } : shareTarget(c, deps);
    c.header('Cache-Control', 'no-store');
    return c.html(
      deps.views.share({
        // A loopback address means nothing on another device: no QR code to scan for it.
        ...target,
        qrDataUrl: target.reachable === 'loopback' ? null : await qrSvgDataUrl(target.url),
        page: !isHtmx(c),
        tunnel: link?.status,
        login: link?.login,
      }),
    );
  });
  return app;
}
