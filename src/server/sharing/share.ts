/**
 * Where the demo can be reached, for the start-up message and the page's
 * Share button, and QR codes of those links (qrcode: terminal and SVG).
 */
import os from 'node:os';
import QRCode from 'qrcode';

export interface Reachable {
  /** URLs that work on this computer only. */
  local: string[];
  /** URLs other devices on the network can open (only when listening on all interfaces). */
  lan: string[];
}

export function isAllInterfaces(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  // 127.x.y.z only as an address: "127.evil.example" is a name anyone can register.
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '0:0:0:0:0:0:0:1';
}

function url(host: string, port: number, base: string): string {
  const shown = host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}${base}/`;
}

/** The non-internal addresses of this machine, IPv4 first (what people can type). */
export function lanAddresses(interfaces = os.networkInterfaces()): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') v4.push(a.address);
      // Link-local IPv6 needs a zone id in the URL, which browsers refuse.
      else if (!a.address.toLowerCase().startsWith('fe80')) v6.push(a.address);
    }
  }
  return [...v4, ...v6];
}

/** Every URL the server answers at, given the host it listens on. */
export function reachableUrls(host: string, port: number, base: string, interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>): Reachable {
  if (isAllInterfaces(host)) {
    return { local: [url('127.0.0.1', port, base)], lan: lanAddresses(interfaces).map((a) => url(a, port, base)) };
  }
  return isLoopbackHost(host) ? { local: [url(host, port, base)], lan: [] } : { local: [], lan: [url(host, port, base)] };
}

/** A QR code drawn with block characters, for the terminal. */
export function qrTerminal(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}

/** A QR code as an SVG data URL, for an <img> (the strict CSP allows data: images). */
export async function qrSvgDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, {
    type: 'svg',
    margin: 2,
    errorCorrectionLevel: 'M',
    color: { dark: '#000000', light: '#ffffff' },
  });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** The start-up message: every address, and the QR code of the first LAN one. */
export async function startupMessage(r: Reachable, qr = true): Promise<string> {
  const lines = ['ekspresi demo is running. Open it at:'];
  for (const u of r.local) lines.push(`  ${u}  (this computer)`);
  for (const u of r.lan) lines.push(`  ${u}  (your network)`);
  if (qr && r.lan.length > 0) {
    lines.push('', `Scan to open ${r.lan[0]} on a phone on the same network:`, await qrTerminal(r.lan[0]));
  }
  return lines.join('\n');
}
