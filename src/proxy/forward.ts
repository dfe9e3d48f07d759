/**
 * One attempt on one backend, behind a small engine interface so a second
 * HTTP engine can be added without touching the retry loop. This engine
 * wraps http-proxy-3's `web()` in a promise that settles exactly once with
 * an AttemptOutcome; its error callback only settles the promise and never
 * re-enters the proxy. It adds what http-proxy-3 1.23 lacks (see
 * node-ecosystem.md §1.4, §1.9): a connect timeout, a response timeout that
 * is told apart from a reset, an idle timeout, the keep-alive-race flag, and
 * the fix for a backend that dies after its headers (the client connection
 * is destroyed instead of left hanging).
 */
import type { Agent, ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Logger } from '../log/logger.js';
import { prepareResponseHeaders } from './headers.js';
import type { AttemptOutcome } from './retry-policy.js';

/** ForwardOptions are the settings of one attempt. */
export interface ForwardOptions {
  agent: Agent;
  body: { stream: Readable | undefined; release: () => void };
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  /** setCookie is added to the response's Set-Cookie headers (sticky sessions). */
  setCookie?: string | undefined;
}

/** Engine sends one attempt to a backend and reports how it ended. */
export interface Engine {
  forward(req: IncomingMessage, res: ServerResponse, target: string, opts: ForwardOptions): Promise<AttemptOutcome>;
  /** upgrade passes a WebSocket (or other) upgrade through; resolves once the tunnel closes or fails. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, connectTimeoutMs: number): Promise<{ ok: boolean; code?: string }>;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTDOWN']);

/** Attempt is the bookkeeping of one forward() call. */
class Attempt {
  readonly res: ServerResponse;
  readonly opts: ForwardOptions;
  readonly #resolve: (o: AttemptOutcome) => void;
  settled = false;
  connected = false;
  proxyReq: ClientRequest | undefined;
  proxyRes: IncomingMessage | undefined;
  timedOut: 'response' | 'idle' | undefined;
  /** backendCut: the backend's response ended before it was complete (not the client's doing). */
  backendCut = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onResClose = () => this.#resClosed();

  constructor(res: ServerResponse, opts: ForwardOptions, resolve: (o: AttemptOutcome) => void) {
    this.res = res;
    this.opts = opts;
    this.#resolve = resolve;
    res.once('close', this.#onResClose);
  }

  settle(o: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.#clearTimer();
    this.res.off('close', this.#onResClose);
    this.#resolve(o);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  onProxyReq(proxyReq: ClientRequest, socket: Socket): void {
    this.proxyReq = proxyReq;
    const connected = () => {
      this.#clearTimer();
      this.connected = true;
      this.opts.body.release();
    };
    if (socket.connecting) {
      // http-proxy-3 1.23 has no connect timeout (its #48): arm one while the socket connects.
      this.#timer = setTimeout(() => {
        socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
      }, this.opts.connectTimeoutMs);
      socket.once('connect', connected);
    } else {
      connected();
    }
    proxyReq.setTimeout(this.opts.idleTimeoutMs, () => {
      this.timedOut ??= 'idle';
      proxyReq.destroy();
    });
    proxyReq.once('finish', () => {
      if (this.proxyRes || this.settled) return;
      // The request is sent: from now on timeouts.response runs until the first response byte.
      this.#timer = setTimeout(() => {
        if (this.proxyRes) return;
        this.timedOut = 'response';
        proxyReq.destroy();
      }, this.opts.responseTimeoutMs);
    });
  }

  onProxyRes(proxyRes: IncomingMessage): void {
    this.proxyRes = proxyRes;
    this.#clearTimer();
    prepareResponseHeaders(proxyRes.headers, this.res.shouldKeepAlive);
    if (this.opts.setCookie) {
      const prior = proxyRes.headers['set-cookie'] ?? [];
      proxyRes.headers['set-cookie'] = [...prior, this.opts.setCookie];
    }
    // A backend that dies or stalls after its headers: destroy the client's
    // connection instead of leaving it hanging (node-ecosystem.md §1.4 E/D2).
    proxyRes.once('close', () => {
      if (!proxyRes.complete) this.#cut();
    });
  }

  /** #cut destroys the client's connection because the backend's response broke off. */
  #cut(): void {
    this.backendCut = true;
    this.res.destroy();
  }

  onError(err: NodeJS.ErrnoException): void {
    if (this.settled) return;
    const code = err.code ?? 'EUNKNOWN';
    // The response has started: it can never be retried (a reset after the
    // headers would otherwise look like a pre-response reset and be replayed).
    if (this.proxyRes) {
      if (!this.res.destroyed && !this.res.writableFinished) this.#cut();
      return this.settle({ kind: 'response', status: this.proxyRes.statusCode ?? 0, complete: false });
    }
    if (this.res.destroyed || this.res.req.socket.destroyed) return this.settle({ kind: 'client-abort' });
    if (this.timedOut) return this.settle({ kind: 'timeout', phase: this.timedOut });
    if (!this.connected || CONNECT_ERRORS.has(code)) return this.settle({ kind: 'connect-failed', code });
    this.settle({ kind: 'reset', code, reusedSocket: this.proxyReq?.reusedSocket === true });
  }

  #resClosed(): void {
    const pr = this.proxyRes;
    if (pr && (this.res.writableFinished || this.backendCut)) {
      this.settle({ kind: 'response', status: pr.statusCode ?? 0, complete: pr.complete && this.res.writableFinished });
    } else {
      // Closed before the response was finished, and not by the backend: the client went away.
      this.settle({ kind: 'client-abort' });
    }
  }
}

/** createHttpProxy3Engine returns an Engine on one http-proxy-3 server for the whole daemon. */
export function createHttpProxy3Engine(log: Logger): Engine {
  const proxy = createProxyServer({ xfwd: false, prependPath: true });
  // http-proxy-3's `deleteLength` pass sets `content-length: 0` and drops
  // `transfer-encoding` on any DELETE or OPTIONS without a length. On a
  // chunked one the body still flows, after a zero-length request, on the
  // pooled backend connection: the backend parses it as a second request
  // (request smuggling). Node frames a bodyless DELETE correctly without it.
  const passes = (proxy as unknown as { webPasses?: Array<{ name: string }> }).webPasses;
  const del = passes?.findIndex((p) => p.name === 'deleteLength') ?? -1;
  if (passes && del >= 0) passes.splice(del, 1);
  const attempts = new WeakMap<IncomingMessage, Attempt>();
  const upgrades = new WeakMap<IncomingMessage, (proxyReq: ClientRequest) => void>();

  proxy.on('proxyReq', (proxyReq, req, _res, _opts, socket) => {
    attempts.get(req as IncomingMessage)?.onProxyReq(proxyReq, socket as Socket);
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    attempts.get(req as IncomingMessage)?.onProxyRes(proxyRes as IncomingMessage);
  });
  proxy.on('proxyReqWs', (proxyReq, req) => {
    upgrades.get(req as IncomingMessage)?.(proxyReq);
  });
  proxy.on('econnreset', (_err, req) => {
    attempts.get(req as IncomingMessage)?.settle({ kind: 'client-abort' });
  });
  // Last resort: without an 'error' listener http-proxy-3 throws. Per-call
  // callbacks handle attempts; this only sees stray errors.
  proxy.on('error', (err, req) => {
    const a = attempts.get(req as IncomingMessage);
    if (a) a.onError(err as NodeJS.ErrnoException);
    else if (log.isDebugEnabled()) log.debug(`proxy error outside an attempt: ${err.message}`);
  });

  return {
    forward(req, res, target, opts) {
      return new Promise<AttemptOutcome>((resolve) => {
        const attempt = new Attempt(res, opts, resolve);
        attempts.set(req, attempt);
        // Each web() call leaves one 'error' listener on req and one 'close'
        // listener on res for the rest of the exchange (§1.4 C3). The loop
        // bounds the attempts (maxAttempts × (sameBackend + 2)); keep the
        // limit one step ahead so 12 seed-default retries do not print
        // MaxListenersExceededWarning.
        req.setMaxListeners(req.getMaxListeners() + 1);
        res.setMaxListeners(res.getMaxListeners() + 1);
        try {
          proxy.web(req, res, { target, agent: opts.agent, buffer: opts.body.stream }, (err) => {
            if (attempts.get(req) === attempt) attempt.onError(err as NodeJS.ErrnoException);
          });
        } catch (err) {
          // http-proxy-3 throws synchronously on a request target it cannot
          // parse; handle-request rejects those with 400 first, this is the net.
          attempt.settle({ kind: 'connect-failed', code: (err as NodeJS.ErrnoException).code ?? 'EPROXY' });
        }
      });
    },

    upgrade(req, socket, head, target, connectTimeoutMs) {
      return new Promise((resolve) => {
        let done = false;
        let timer: NodeJS.Timeout | undefined;
        const finish = (r: { ok: boolean; code?: string }) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(r);
        };
        upgrades.set(req, (proxyReq) => {
          proxyReq.once('socket', (s: Socket) => {
            if (!s.connecting) return;
            timer = setTimeout(() => {
              s.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
            }, connectTimeoutMs);
            s.once('connect', () => clearTimeout(timer));
          });
        });
        try {
          proxy.ws(req, socket as Socket, head, { target }, (err) => {
            finish({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN' });
          });
        } catch (err) {
          socket.destroy();
          finish({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EPROXY' });
        }
        socket.once('close', () => finish({ ok: true }));
      });
    },
  };
}
