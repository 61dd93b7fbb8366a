/**
 * `--share`: after the server listens, open a public https link to it through
 * a localtunnel server (server/public-link.ts), print it with its password,
 * QR code, lifetime and how to stop it. When the link cannot be opened the
 * reason is printed and the local server keeps running.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isAllInterfaces, isLoopbackHost, qrTerminal } from '../server/sharing/share.js';
import { generateShareLogin, type ShareLinkState } from '../server/sharing/share-link.js';
import {
  checkTunnelServer,
  DEFAULT_TUNNEL_SERVER,
  DEFAULT_TUNNEL_TIMEOUT_MS,
  openPublicLink,
  PublicLinkError,
  type PublicLink,
} from '../server/sharing/public-link.js';
import type { Credential } from '../server/http/middleware/auth.js';

export const SHARE_SERVER_ENV = 'EKSPRESI_SHARE_SERVER';

export function addShareOptions(program: Command): Command {
  return program
    .option('--share', 'also open a public https link (through a localtunnel server), protected by a password')
    .addOption(
      new Option('--share-server <url>', 'the localtunnel server for --share')
        .env(SHARE_SERVER_ENV)
        .default(DEFAULT_TUNNEL_SERVER)
        .argParser((v) => {
          try {
            return checkTunnelServer(v);
          } catch (e) {
            throw new InvalidArgumentError((e as Error).message);
          }
        }),
    )
    .option(
      '--share-timeout <s>',
      'seconds to wait for the --share link before giving up',
      (v) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('--share-timeout must be a positive number of seconds.');
        return n;
      },
      DEFAULT_TUNNEL_TIMEOUT_MS / 1000,
    );
}

export interface ShareCliOptions {
  share?: boolean;
  shareServer: string;
  shareTimeout: number;
}

export interface SharePlan {
  /** Shown by the Share panel; given to createApp as `shareLink`. */
  state: ShareLinkState;
  /** The users to give --auth: the given ones, or the generated login. */
  auth: Credential[];
}

/**
 * Before the app is created: a public link never opens without a password.
 * The tunnel client reaches the server at localhost, so --host must answer there.
 */
export function planShare(opts: ShareCliOptions, host: string, auth: Credential[]): SharePlan | null {
  if (!opts.share) return null;
  if (!isLoopbackHost(host) && !isAllInterfaces(host)) {
    throw new Error(`--share needs the server on this computer's loopback: use --host 127.0.0.1 (the default) or 0.0.0.0, not ${host}.`);
  }
  if (auth.length > 0) return { state: { status: 'opening' }, auth };
  const login = generateShareLogin();
  return { state: { status: 'opening', login }, auth: [login] };
}

function describeLink(link: PublicLink, plan: SharePlan): string[] {
  const lines = ['', `Public link (through ${link.server}):`, `  ${link.url}`];
  if (plan.state.login) {
    lines.push(`  user: ${plan.state.login.username}   password: ${plan.state.login.password}`);
  } else {
    lines.push('  protected by the --auth users you gave');
  }
  lines.push(
    'It works while this server runs (and the tunnel server keeps it); each start gives a new link and password.',
    'Stop sharing: Ctrl-C stops the server and closes the link.',
  );
  if (link.server === DEFAULT_TUNNEL_SERVER) {
    lines.push(
      'Visitors first see a localtunnel reminder page; its "tunnel password" is this computer\'s public IP address',
      '(shown at https://loca.lt/mytunnelpassword), not the demo password.',
    );
  }
  return lines;
}

export interface ShareRun {
  /** Settles when the link is open or has failed (never rejects). */
  done: Promise<void>;
  /** Closes the link, also one that opens later. */
  close(): void;
}

/** Opens the link in the background and reports on the log. */
export function startShare(
  plan: SharePlan,
  port: number,
  opts: ShareCliOptions,
  log: (msg: string) => void,
  onOpen: (url: string) => void = () => {},
): ShareRun {
  log(`Opening a public link through ${opts.shareServer} ...`);
  if (plan.state.login) {
    log(
      `The demo now asks every visitor (this computer's browser too) to log in: user ${plan.state.login.username}, password ${plan.state.login.password}`,
    );
  }
  let link: PublicLink | null = null;
  let closed = false;
  const opened = async (l: PublicLink) => {
    if (closed) {
      l.close();
      return;
    }
    link = l;
    // Requests through the tunnel name its host: the server must answer to it.
    onOpen(l.url);
    plan.state.url = l.url;
    plan.state.status = 'open';
    l.onError((m) => log(`Public link: a tunnel connection failed (${m}); it is being re-opened.`));
    log([...describeLink(l, plan), '', `Scan to open ${l.url}:`, await qrTerminal(l.url)].join('\n'));
  };
  const done = openPublicLink({ port, server: opts.shareServer, timeoutMs: opts.shareTimeout * 1000 }).then(opened, (e: unknown) => {
    plan.state.status = 'failed';
    const message = e instanceof PublicLinkError ? e.message : `Could not open a public link: ${(e as Error).message}`;
    log(`${message}\nNo public link; the demo keeps running at the addresses above.`);
    if (e instanceof PublicLinkError && e.later) {
      log('The tunnel library keeps trying in the background; if the link opens after all, it is printed here.');
      e.later.then(opened, () => {});
    }
  });
  return {
    done,
    close: () => {
      closed = true;
      link?.close();
    },
  };
}
