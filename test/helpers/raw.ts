/**
 * Low-level test helpers for the cases TestBackend cannot script: a bare
 * node:http server with a handler of the test's own (and an optional
 * 'upgrade' handler), raw TCP exchanges with the balancer (malformed
 * requests, slow headers, WebSocket handshakes), and a body hash.
 * Every server and socket is closed in teardown or when the exchange ends.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Teardown } from './daemon.js';

/** RawServer is a started node:http server on 127.0.0.1. */
export interface RawServer {
  server: http.Server;
  port: number;
  url: string;
}

/**
 * listenLocal binds `server` to 127.0.0.1:0 and, in teardown, destroys the
 * `sockets` it tracks and closes it; resolves with the port.
 */
export async function listenLocal(t: Teardown, server: net.Server, sockets: Set<Duplex>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

/**
 * startServer listens on 127.0.0.1:0 with `handler` (and `onUpgrade` for
 * 'upgrade' events); every connection is destroyed and the server closed in teardown.
 */
export async function startServer(
  t: Teardown, handler: http.RequestListener,
  onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<RawServer> {
  const server = http.createServer(handler);
  const sockets = new Set<Duplex>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (onUpgrade) server.on('upgrade', onUpgrade);
  const port = await listenLocal(t, server, sockets);
  return { server, port, url: `http://127.0.0.1:${port}` };
}

/** RawResult is what a raw exchange saw before the connection closed (or the deadline passed). */
export interface RawResult {
  data: Buffer;
  /** closed: the peer closed the connection before the deadline. */
  closed: boolean;
  ms: number;
}

/**
 * rawExchange connects to 127.0.0.1:port, writes `chunks` (strings or
 * buffers, in order), and collects everything received until the peer
 * closes or `timeoutMs` passes; it always destroys its socket.
 */
export function rawExchange(port: number, chunks: Array<string | Buffer>, timeoutMs = 5000): Promise<RawResult> {
  return new Promise((resolve) => {
    const start = performance.now();
    const got: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(got), closed, ms: performance.now() - start });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

/** sha256 returns the hex SHA-256 of a buffer. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** statusLine returns the first line of a raw HTTP response ('' when none). */
export function statusLine(data: Buffer): string {
  const s = data.toString('latin1');
  const i = s.indexOf('\r\n');
  return i < 0 ? s : s.slice(0, i);
}
