/**
 * Helpers for the fault suite (test/faults/): a leak check on the test
 * process's active resources, backends that never pool a connection (so a
 * quiet daemon holds no socket at all), a raw TCP backend scripted per
 * request path, and an HTTP client that reports how an exchange ended
 * (closed, timed out, complete) instead of throwing.
 *
 * The leak check: process.getActiveResourcesInfo() lists the ref'd handles,
 * requests and timers of this process (the daemon runs in it). A baseline
 * is taken once the daemon is up and a warm-up request has been served and
 * every socket of it is gone; after a case the counts must come back to it
 * (polled with a deadline: sockets close a few ticks after a response).
 * Unref'd timers (the daemon's own long-lived ones) are not listed by Node,
 * so they never show up as a difference.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Teardown } from './daemon.js';
import { listenLocal } from './raw.js';
import { waitFor } from './wait.js';

/** Counts are active resources by type name (TCPSocketWrap, Timeout, …). */
export type Counts = Record<string, number>;

/** resourceCounts counts process.getActiveResourcesInfo() by type. */
export function resourceCounts(): Counts {
  const c: Counts = {};
  for (const r of process.getActiveResourcesInfo()) c[r] = (c[r] ?? 0) + 1;
  return c;
}

/** excess lists the types whose count is above base (+ allow), as "Type: base → now". */
export function excess(now: Counts, base: Counts, allow: Counts = {}): string[] {
  const out: string[] = [];
  for (const [k, n] of Object.entries(now)) {
    const limit = (base[k] ?? 0) + (allow[k] ?? 0);
    if (n > limit) out.push(`${k}: ${base[k] ?? 0} → ${n}`);
  }
  return out;
}

/**
 * quietBaseline waits until no TCP socket is active (the warm-up exchange
 * has fully closed: client, daemon and backend sides) and returns the
 * counts then.
 */
export async function quietBaseline(timeoutMs = 5000): Promise<Counts> {
  return waitFor(() => {
    const c = resourceCounts();
    return !c.TCPSocketWrap ? c : undefined;
  }, { timeoutMs, what: 'a quiet process for the leak baseline' });
}

/**
 * backToBaseline polls until no resource type is above the baseline (+
 * allow); on the deadline it throws naming what stayed above it.
 */
export async function backToBaseline(base: Counts, opts: { timeoutMs?: number; allow?: Counts } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const over = excess(resourceCounts(), base, opts.allow);
    if (over.length === 0) return;
    if (Date.now() >= deadline) throw new Error(`resources leaked (still above the baseline after ${opts.timeoutMs ?? 5000} ms): ${over.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** fdLimit reads this process's soft limit on open files (Linux /proc), or undefined. */
export function fdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** HttpBackend is a node:http backend that keeps no connection alive. */
export interface HttpBackend {
  server: http.Server;
  port: number;
  url: string;
  /** stop destroys every connection and closes the server (its port then refuses). */
  stop: () => Promise<void>;
}

/**
 * startHttpBackend listens on `port` (0 = any) with `handler`. Unless
 * `keepAlive` is asked for, every answer carries `Connection: close`, so
 * neither engine keeps a pooled connection to it: after an exchange every
 * socket closes, and the leak check can ask for zero sockets at once
 * (a pooled connection is no leak, but it would hold the check up until the
 * backend's keep-alive timeout). Stopped in teardown.
 */
export async function startHttpBackend(t: Teardown, handler: http.RequestListener, opts: { port?: number; keepAlive?: boolean } = {}): Promise<HttpBackend> {
  const server = http.createServer(opts.keepAlive ? handler : (req, res) => {
    res.setHeader('connection', 'close');
    handler(req, res);
  });
  server.keepAliveTimeout = 500;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  t.after(stop);
  const p = (server.address() as net.AddressInfo).port;
  return { server, port: p, url: `http://127.0.0.1:${p}`, stop };
}

/** RawHead is the request head a raw backend read: request line, path and raw head text. */
export interface RawHead {
  method: string;
  path: string;
  head: string;
}

/**
 * RawBehaviour scripts one raw exchange: it gets the socket after the
 * request head was read (or at accept, for `onAccept`) and does what it wants.
 */
export type RawBehaviour = (socket: net.Socket, head: RawHead) => void;

/** okResponse is a complete, well-formed answer that closes the connection. */
export function okResponse(body: string): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** RawBackend is a TCP server that speaks just enough HTTP for the fault cases. */
export interface RawBackend {
  port: number;
  url: string;
  /** heads: every request head read, in order. */
  heads: RawHead[];
  /** onAccept: when set, each new connection is handed to it before anything is read. */
  onAccept: ((socket: net.Socket) => void) | undefined;
  /** open: connections open now. */
  open: () => number;
}

/**
 * startRawBackend listens on 127.0.0.1:0. Each connection's request head is
 * read (up to the blank line); `route(path)` picks a behaviour, and when it
 * returns none the request gets a normal 200 "ok <path>" with Connection:
 * close. Every socket is destroyed and the server closed in teardown.
 */
export async function startRawBackend(t: Teardown, route: (path: string) => RawBehaviour | undefined): Promise<RawBackend> {
  const sockets = new Set<net.Socket>();
  const heads: RawHead[] = [];
  const rb: RawBackend = { port: 0, url: '', heads, onAccept: undefined, open: () => sockets.size };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (rb.onAccept) return rb.onAccept(socket);
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 64 * 1024) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const head = buf.slice(0, end);
      const [method = '', path = ''] = head.split('\r\n', 1)[0]!.split(' ');
      const h = { method, path, head };
      heads.push(h);
      const b = route(path);
      if (b) b(socket, h);
      else socket.end(okResponse(`ok ${path}\n`));
    };
    socket.on('data', onData);
  });
  rb.port = await listenLocal(t, server, sockets);
  rb.url = `http://127.0.0.1:${rb.port}`;
  return rb;
}

/** Outcome is how an HTTP exchange ended for the client. */
export interface Outcome {
  /** status: the final status, 0 when no response head arrived. */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** informational: 1xx statuses seen before the final one. */
  informational: number[];
  /** complete: the whole body arrived (the response ended cleanly). */
  complete: boolean;
  /** error: the error the exchange ended with (a closed connection), if any. */
  error: string | undefined;
  /** timedOut: the client's own deadline fired (the balancer left it hanging). */
  timedOut: boolean;
  ms: number;
}

/**
 * exchange sends one request on a fresh connection and resolves with how it
 * ended, never rejecting: a response, a connection closed mid-way, or the
 * client's deadline (`timeoutMs`) passing — the last is what the fault
 * cases assert never happens.
 */
export function exchange(url: string, opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string; timeoutMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const start = performance.now();
    const chunks: Buffer[] = [];
    const informational: number[] = [];
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    let complete = false;
    let done = false;
    const finish = (error: string | undefined, timedOut = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ status, headers, body: Buffer.concat(chunks), informational, complete, error, timedOut, ms: performance.now() - start });
    };
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      headers = res.headers;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        complete = res.complete;
        finish(undefined);
      });
      res.on('error', (e) => finish(e.message));
      res.on('aborted', () => finish('aborted'));
      res.on('close', () => finish(res.complete ? undefined : 'closed before the end'));
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.on('error', (e) => finish(e.message));
    const timer = setTimeout(() => finish('client timeout', true), opts.timeoutMs ?? 10_000);
    req.end(opts.body);
  });
}
