/**
 * TestBackend: a real node:http server on 127.0.0.1:0 whose behaviour a test
 * scripts (after undici's TestServer): answer with its name, fail with a
 * status, hang up, stall, or delay. It counts hits, records the last request,
 * can be stopped and restarted on the same port, and is closed in teardown.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';

/** Behaviour tells a backend how to answer the next requests. */
export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'hangup' }
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number }
  | { kind: 'custom'; handler: http.RequestListener };

/** SeenRequest is what a backend recorded of a request it received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** TestBackend is one scripted backend. */
export class TestBackend {
  readonly name: string;
  port = 0;
  hits = 0;
  behaviour: Behaviour = { kind: 'ok' };
  readonly seen: SeenRequest[] = [];
  #server: http.Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #stalled = new Set<http.ServerResponse>();

  constructor(name: string) {
    this.name = name;
  }

  /** url is the backend's origin, for lb.yaml. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** start listens (on the same port as before after a stop, else on port 0). */
  async start(): Promise<this> {
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** stop closes the server and every connection to it (the port then refuses). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    for (const res of this.#stalled) res.destroy();
    this.#stalled.clear();
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const b = this.behaviour;
      switch (b.kind) {
        case 'ok': {
          const body = `${this.name}\n`;
          res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': this.name, 'content-length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        case 'status':
          res.writeHead(b.status, { 'x-backend': this.name });
          res.end(`${this.name} ${b.status}\n`);
          return;
        case 'hangup':
          req.socket.destroy();
          return;
        case 'stall':
          this.#stalled.add(res);
          res.on('close', () => this.#stalled.delete(res));
          return;
        case 'delay': {
          this.#stalled.add(res);
          const t = setTimeout(() => {
            this.#stalled.delete(res);
            res.writeHead(200, { 'x-backend': this.name });
            res.end(`${this.name}\n`);
          }, b.ms);
          res.on('close', () => clearTimeout(t));
          return;
        }
        case 'custom':
          b.handler(req, res);
      }
    });
  }
}

/** startBackends starts `n` named backends (b1, b2, …) and registers their teardown on `t`. */
export async function startBackends(t: TestContext | { after: (fn: () => Promise<void>) => void }, n: number): Promise<TestBackend[]> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => new TestBackend(`b${i + 1}`).start()));
  t.after(async () => {
    await Promise.all(list.map((b) => b.stop()));
  });
  return list;
}
