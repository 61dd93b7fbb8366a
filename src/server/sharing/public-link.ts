/**
 * `npm start -- --share`: a public https link to this server through a
 * localtunnel server (the public one at localtunnel.me by default, or your
 * own). @n8n/localtunnel is pure JavaScript: it asks the tunnel server for a
 * name, then keeps a few TCP connections open to it, and the server sends
 * visitors' requests down them to our local port. Nothing is installed or
 * downloaded at run time.
 *
 * The library retries an unreachable tunnel server once a second for ever and
 * cannot be cancelled, so the server is probed first (one plain request, with
 * a time limit): when that fails we give up with the reason and never start
 * the library's retry loop.
 */
import localtunnel from '@n8n/localtunnel';

export const DEFAULT_TUNNEL_SERVER = 'https://localtunnel.me';
export const DEFAULT_TUNNEL_TIMEOUT_MS = 20_000;

/** Why the link could not be opened, in words a person can act on. */
export class PublicLinkError extends Error {
  /**
   * Set when the tunnel server answered but gave no link in time: the library
   * goes on asking once a second and cannot be stopped, so the link may still
   * open; this resolves if it does.
   */
  readonly later?: Promise<PublicLink>;
  constructor(message: string, later?: Promise<PublicLink>) {
    super(message);
    this.name = 'PublicLinkError';
    this.later = later;
  }
}

export interface PublicLinkOptions {
  /** Our server's port on localhost (it must answer there: loopback or all interfaces). */
  port: number;
  /** The localtunnel server (default https://localtunnel.me). */
  server?: string;
  /** Give up opening after this long. */
  timeoutMs?: number;
}

export interface PublicLink {
  url: string;
  /** The tunnel server it goes through. */
  server: string;
  /** Closes the tunnel; the local server is not touched. */
  close(): void;
  /** Called when a tunnel connection fails after the link was opened (it is re-opened by the library). */
  onError(listener: (message: string) => void): void;
}

function reason(e: unknown): string {
  const err = e as { cause?: { code?: string; message?: string }; code?: string; message?: string; name?: string };
  const code = err.cause?.code ?? err.code;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'its name could not be looked up (no internet connection?)';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET') return 'the connection was cut';
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return 'the network is unreachable (no internet connection?)';
  return err.cause?.message ?? err.message ?? String(e);
}

/** One request to the tunnel server: is it there at all? */
async function probe(server: string, timeoutMs: number): Promise<void> {
  try {
    // Any HTTP answer will do: the front page may redirect or say 404.
    const res = await fetch(server, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
  } catch (e) {
    throw new PublicLinkError(`Could not reach the tunnel server ${server}: ${reason(e)}.`);
  }
}

export function checkTunnelServer(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`"${value}" is not a URL like https://localtunnel.me.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`The tunnel server must be an http(s) URL, not "${value}".`);
  // The library appends "/?new" to this itself.
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Opens the public link, or throws PublicLinkError with the reason. */
export async function openPublicLink(options: PublicLinkOptions): Promise<PublicLink> {
  const server = checkTunnelServer(options.server ?? DEFAULT_TUNNEL_SERVER);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TUNNEL_TIMEOUT_MS;
  const started = Date.now();
  await probe(server, timeoutMs);

  // No local_host: with it the client rewrites the Host header by turning the first chunk
  // of each request into a string and back, which corrupts binary uploads (photos).
  // Without it the client connects to "localhost" (IPv4 or IPv6, whichever answers).
  const opened = localtunnel({ port: options.port, host: server }).then((tunnel) => wrap(tunnel, server));
  // A link that opens after we said it failed is not lost: the caller may still use it.
  opened.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PublicLinkError(`The tunnel server ${server} answered, but gave no link within ${Math.round(timeoutMs / 1000)} s.`, opened),
        ),
      Math.max(1000, timeoutMs - (Date.now() - started)),
    );
  });
  try {
    return await Promise.race([opened, timeout]);
  } catch (e) {
    if (e instanceof PublicLinkError) throw e;
    throw new PublicLinkError(`The tunnel server ${server} refused the link: ${reason(e)}.`);
  } finally {
    clearTimeout(timer);
  }
}

function wrap(tunnel: localtunnel.Tunnel, server: string): PublicLink {
  if (!/^https?:\/\//.test(tunnel.url ?? '')) {
    tunnel.close();
    throw new PublicLinkError(`The tunnel server ${server} gave no usable link (got "${String(tunnel.url)}").`);
  }
  const url = tunnel.url.endsWith('/') ? tunnel.url : `${tunnel.url}/`;
  const errorListeners: Array<(m: string) => void> = [];
  tunnel.on('error', (e: unknown) => {
    for (const l of errorListeners) l(reason(e));
  });
  return {
    url,
    server,
    close: () => tunnel.close(),
    onError: (listener) => {
      errorListeners.push(listener);
    },
  };
}
