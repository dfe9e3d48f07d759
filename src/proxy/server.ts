/**
 * The proxy's node:http listener: bad clients get 400 / 408 / 431 and never
 * crash the process (Node's clientError, headersTimeout, requestTimeout);
 * close() stops accepting and drains in-flight requests, bounded.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { SniContexts } from '../tls/contexts.js';
import type { ListenAddress } from '../config/address.js';
import { YalbError } from '../errors.js';
import type { ProxyHandler } from './handle-request.js';

/** ListenerOptions tune the client side of the listener. */
export interface ListenerOptions {
  /** headersTimeoutMs: a client must send its headers within this (408 after). Default 15 s. */
  headersTimeoutMs?: number;
  /**
   * requestTimeoutMs: the whole request must arrive within this (408 after).
   * Default 0 (off): a slow upload is limited by inactivity
   * (timeouts.clientIdle), as in nginx, HAProxy and Envoy, not by its length.
   */
  requestTimeoutMs?: number;
  /** keepAliveTimeoutMs: an idle client connection is closed after this. Default 65 s (beyond common LB/client idles). */
  keepAliveTimeoutMs?: number;
  /** maxHeaderSize in bytes (431 above). Default 16 KiB (Node's). */
  maxHeaderSize?: number;
}

const CLIENT_ERROR_RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** kWaitingGate: where limitConnections leaves the switch closeGracefully turns off. */
const kWaitingGate = Symbol('yalb.waitingGate');

/**
 * limitConnections makes `server` serve at most `max()` client connections
 * at once (limits.maxConnections, read per connection so a reload applies
 * it); more wait, accepted but unread, and are admitted in arrival order as
 * served ones close. Why not server.maxConnections: Node closes the extra
 * connections at once, where HAProxy and nginx let them wait; and a listening
 * socket cannot stop accepting to leave them in the kernel backlog. A waiting
 * connection costs a file descriptor and nothing else (its bytes stay in the
 * kernel); when descriptors run out, libuv closes new ones, never crashing.
 */
function limitConnections(server: http.Server | https.Server, max: () => number | undefined): void {
  const [serve] = server.listeners('connection') as Array<(socket: Socket) => void>;
  if (!serve) return;
  server.removeListener('connection', serve);
  let active = 0;
  const waiting: Socket[] = [];
  // closeGracefully() turns this off: a closing server admits nobody, and the waiting are closed.
  const gate = { closing: false, close: () => { gate.closing = true; for (const s of waiting.splice(0)) s.destroy(); } };
  (server as http.Server & { [kWaitingGate]?: typeof gate })[kWaitingGate] = gate;
  const admit = (socket: Socket) => {
    active++;
    socket.once('close', () => {
      active--;
      if (gate.closing) return;
      const limit = max() ?? Number.POSITIVE_INFINITY;
      while (active < limit && waiting.length > 0) admit(waiting.shift() as Socket);
    });
    serve.call(server, socket);
    socket.resume();
  };
  server.on('connection', (socket: Socket) => {
    if (gate.closing) {
      socket.destroy();
      return;
    }
    if (active < (max() ?? Number.POSITIVE_INFINITY)) return admit(socket);
    socket.pause();
    waiting.push(socket);
    socket.once('close', () => {
      const i = waiting.indexOf(socket);
      if (i !== -1) waiting.splice(i, 1);
    });
  });
}

/**
 * createProxyServer returns an http.Server wired to the handler; it is not
 * yet listening. `maxConnections` reads limits.maxConnections. With `tls`
 * it is an https.Server serving those contexts (SNI; the default pair for
 * clients that send no name); the same HTTP options apply.
 */
export function createProxyListener(handler: ProxyHandler, opts: ListenerOptions = {}, maxConnections?: () => number | undefined, tls?: SniContexts): http.Server | https.Server {
  const headersTimeout = opts.headersTimeoutMs ?? 15_000;
  const httpOptions: http.ServerOptions = {
    headersTimeout,
    requestTimeout: opts.requestTimeoutMs ?? 0,
    // Node enforces headersTimeout and requestTimeout only when this timer
    // sweeps the connections (default every 30 s), so a slow client would
    // hold a connection up to 30 s past its deadline. Sweep at least every
    // second (and several times per headersTimeout): O(connections) per sweep.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65_000,
    maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024,
  };
  const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handler.handle(req, res).catch(() => res.destroy());
  };
  let server: http.Server | https.Server;
  if (tls) {
    // A client must finish its handshake within headersTimeout too (Node's default is 120 s: a slowloris door).
    const s = https.createServer({ ...httpOptions, ...tls.serverOptions(), handshakeTimeout: headersTimeout }, serve);
    tls.attach(s);
    // A failed handshake (a scanner, an old client, a wrong name) closes that connection only.
    s.on('tlsClientError', (_err, socket) => socket.destroy());
    server = s;
  } else {
    server = http.createServer(httpOptions, serve);
  }
  if (maxConnections) limitConnections(server, maxConnections);
  server.on('upgrade', (req, socket, head) => {
    handler.upgrade(req, socket, head).catch(() => socket.destroy());
  });
  // CONNECT would tunnel anywhere: a reverse proxy is not an open proxy (405, never forwarded).
  server.on('connect', (_req, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: YALB_ERR_BAD_REQUEST\r\n\r\n');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      const line = CLIENT_ERROR_RESPONSES[err.code ?? ''] ?? '400 Bad Request';
      socket.end(`HTTP/1.1 ${line}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });
  return server;
}

/** listen binds a server; rejects with YALB_ERR_LISTEN when the address cannot be bound. */
export function listen(server: Server, addr: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new YalbError('YALB_ERR_LISTEN', `cannot listen on ${addr.host ?? '*'}:${addr.port}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * closeGracefully stops accepting, lets in-flight requests finish for up to
 * `drainMs` (idle keep-alive connections are closed at once and as they go
 * idle), then closes whatever is left.
 */
export async function closeGracefully(server: Server, inFlight: () => number, drainMs: number): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  (server as Server & { [kWaitingGate]?: { close(): void } })[kWaitingGate]?.close();
  // A plain net.Server (a cluster primary's, which hands connections on) has no HTTP exchanges to wait for.
  const h = server instanceof http.Server || server instanceof https.Server ? server : undefined;
  h?.closeIdleConnections();
  const deadline = Date.now() + drainMs;
  while (inFlight() > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    h?.closeIdleConnections();
  }
  h?.closeAllConnections();
  await closed;
}
