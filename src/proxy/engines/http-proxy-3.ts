/**
 * The http-proxy-3 engine: one attempt wraps http-proxy-3's `web()` in a
 * promise that settles exactly once with an AttemptOutcome; its error
 * callback only settles the promise and never re-enters the proxy. It adds
 * what http-proxy-3 1.23 lacks: a connect timeout (its issue #48), a
 * response timeout told apart from a reset, an idle timeout, the
 * keep-alive-race flag (`reused`), and the fix for a backend that dies after
 * its headers (http-proxy-3 leaves the client connection hanging; here it is
 * destroyed). Connections: one keep-alive agent per backend (agents.ts).
 */
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type BackendTrust, backendTlsOptions, DEFAULT_TRUST } from '../../config/backend-tls.js';
import { createProxyServer } from 'http-proxy-3';
import type { Logger } from '../../log/logger.js';
import type { AttemptOutcome, Engine, ForwardOptions } from '../engine.js';
import { shapeResponseHeaders } from '../response.js';
import { AgentCache } from './agents.js';

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTDOWN']);

/** connectTimedOut ends a connect that took longer than timeouts.connect (http-proxy-3 1.23 has none: its #48). */
function connectTimedOut(socket: Socket): void {
  socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
}

/** responseTimedOut ends an attempt whose backend sent no first byte within timeouts.response. */
function responseTimedOut(a: Attempt): void {
  if (a.proxyRes || !a.proxyReq) return;
  a.timedOut = 'response';
  a.proxyReq.destroy();
}

/**
 * connectTo opens a TCP (or TLS, for https://) connection to a backend
 * origin within `ms` (0 = no limit); rejects with the connect error.
 */
function connectTo(target: string, ms: number, trust: BackendTrust): Promise<Socket> {
  const u = new URL(target);
  const tls = u.protocol === 'https:';
  const port = Number(u.port || (tls ? 443 : 80));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const s: Socket = tls ? tlsConnect({ host, port, ...backendTlsOptions(u, trust) }) : netConnect({ host, port });
    const timer = ms > 0 ? setTimeout(() => s.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' })), ms) : undefined;
    s.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      s.on('error', () => s.destroy()); // until http-proxy-3 takes it (and after): never an unhandled 'error'
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** oneShotAgent is an agent whose one connection is `socket`, already open (for an upgrade). */
function oneShotAgent(target: string, socket: Socket): http.Agent {
  const agent = target.startsWith('https:') ? new https.Agent() : new http.Agent();
  agent.createConnection = () => socket;
  return agent;
}

/** kAttempt links a backend request to its attempt (for unexpectedUpgrade, without a closure per request). */
const kAttempt = Symbol('yalb.attempt');

/** unexpectedUpgrade fails an attempt whose backend answered 101 to a plain request (502, a failure of that backend). */
function unexpectedUpgrade(this: ClientRequest & { [kAttempt]?: Attempt }, _res: IncomingMessage, socket: Socket): void {
  socket.destroy();
  this[kAttempt]?.onError(Object.assign(new Error('the backend answered 101 Switching Protocols to a request that asked for no upgrade'), { code: 'EUNEXPECTED_UPGRADE' }));
}

/** Attempt is the bookkeeping of one forward() call. */
class Attempt {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly opts: ForwardOptions;
  /** bodyless: nothing to send after the headers, so the request counts as sent once it has a connection. */
  readonly bodyless: boolean;
  /** release lets a streamed body flow; called once the backend socket is connected. */
  readonly release: () => void;
  readonly #resolve: (o: AttemptOutcome) => void;
  /** live: the engine's table of unsettled attempts, left on settle. */
  readonly #live: Map<IncomingMessage, Attempt>;
  settled = false;
  connected = false;
  proxyReq: ClientRequest | undefined = undefined;
  proxyRes: IncomingMessage | undefined = undefined;
  timedOut: 'response' | 'idle' | undefined = undefined;
  /** backendCut: the backend's response ended before it was complete (not the client's doing). */
  backendCut = false;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(live: Map<IncomingMessage, Attempt>, req: IncomingMessage, res: ServerResponse, opts: ForwardOptions, bodyless: boolean, release: () => void, resolve: (o: AttemptOutcome) => void) {
    this.#live = live;
    this.req = req;
    this.res = res;
    this.opts = opts;
    this.bodyless = bodyless;
    this.release = release;
    this.#resolve = resolve;
    // Never removed (a settled attempt ignores it; the listener goes with res):
    // no once() wrapper and no removeListener per attempt (part of the gain noted at `live`).
    res.on('close', () => this.#resClosed());
  }

  settle(o: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.#clearTimer();
    if (this.#live.get(this.req) === this) this.#live.delete(this.req);
    this.#resolve(o);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  onProxyReq(proxyReq: ClientRequest, socket: Socket): void {
    this.proxyReq = proxyReq;
    // http-proxy-3 runs the target through new URL(), which decodes and
    // removes dot segments (/public/%2e%2e/admin → /admin): an ACL in front
    // would see one path and the backend another. The request line is not
    // written yet: send the client's target unchanged, as nginx and HAProxy do.
    proxyReq.path = this.req.url as string;
    // A 101 to a request that asked for no upgrade: Node's client would drop
    // the socket with no error for http-proxy-3 to report (the client hung).
    (proxyReq as ClientRequest & { [kAttempt]?: Attempt })[kAttempt] = this;
    proxyReq.on('upgrade', unexpectedUpgrade); // on, not once: a ClientRequest is used once, no wrapper needed
    if (socket.connecting) {
      if (this.opts.timeouts.connectMs > 0) this.#timer = setTimeout(connectTimedOut, this.opts.timeouts.connectMs, socket); // 0 = off
      socket.once('connect', () => this.#connected());
    } else {
      this.#connected();
    }
    proxyReq.setTimeout(this.opts.timeouts.idleMs, () => {
      this.timedOut ??= 'idle';
      proxyReq.destroy();
    });
  }

  #connected(): void {
    this.#clearTimer();
    this.connected = true;
    this.release();
    if (this.settled || this.proxyRes) return;
    // From the request sent on, timeouts.response runs until the first response byte.
    // A bodyless request is sent with its headers: no 'finish' listener and closure per GET.
    if (this.bodyless) this.#armResponseTimer();
    else this.proxyReq?.once('finish', () => this.#armResponseTimer());
  }

  #armResponseTimer(): void {
    if (this.proxyRes || this.settled || this.opts.timeouts.responseMs === 0) return; // 0 = off
    this.#timer = setTimeout(responseTimedOut, this.opts.timeouts.responseMs, this);
  }

  onProxyRes(proxyRes: IncomingMessage): void {
    this.proxyRes = proxyRes;
    this.#clearTimer();
    // http-proxy-3 copies proxyRes.headers to the client right after this
    // event: hand it the shaped copy, and give the backend's own object back
    // once it has (Node's agent reads the Keep-Alive hint from it; deleting
    // in place, as before, hid the hint and pooled sockets kept 30 s timers).
    const backendHeaders = proxyRes.headers;
    proxyRes.headers = shapeResponseHeaders(backendHeaders, this.res.shouldKeepAlive, this.opts.setCookie);
    queueMicrotask(() => { proxyRes.headers = backendHeaders; });
    // A backend that dies or stalls after its headers: destroy the client's
    // connection instead of leaving it hanging (http-proxy-3 would not).
    proxyRes.on('close', () => {
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
    if (this.res.destroyed || this.req.socket.destroyed) return this.settle({ kind: 'client-abort' });
    if (this.timedOut) return this.settle({ kind: 'timeout', phase: this.timedOut });
    if (!this.connected || CONNECT_ERRORS.has(code)) return this.settle({ kind: 'connect-failed', code });
    this.settle({ kind: 'sent-failed', code, reused: this.proxyReq?.reusedSocket === true });
  }

  #resClosed(): void {
    if (this.settled) return;
    const pr = this.proxyRes;
    if (pr && (this.res.writableFinished || this.backendCut)) {
      const length = Number(pr.headers['content-length'] ?? Number.NaN);
      this.settle({ kind: 'response', status: pr.statusCode ?? 0, complete: pr.complete && this.res.writableFinished, length: Number.isFinite(length) ? length : undefined });
    } else {
      // Closed before the response was finished, and not by the backend: the client went away.
      this.settle({ kind: 'client-abort' });
    }
  }
}

/**
 * dropDeleteLength removes http-proxy-3's `deleteLength` pass. That pass
 * sets `content-length: 0` and drops `transfer-encoding` on any DELETE or
 * OPTIONS without a length. On a chunked one the body still flows, after a
 * zero-length request, on the pooled backend connection: the backend parses
 * it as a second request (request smuggling). Node frames a bodyless DELETE
 * correctly without it. The pass list is private to http-proxy-3: if an
 * update renames it, this throws at start instead of letting smuggling
 * return silently.
 */
export function dropDeleteLength(proxy: object): void {
  const passes = (proxy as { webPasses?: Array<{ name?: string }> }).webPasses;
  const del = Array.isArray(passes) ? passes.findIndex((p) => p.name === 'deleteLength') : -1;
  if (!passes || del < 0) {
    throw new Error('http-proxy-3 changed: its private webPasses list has no "deleteLength" pass to remove (request smuggling guard); check the http-proxy-3 version');
  }
  passes.splice(del, 1);
}

/** createHttpProxy3Engine returns an Engine on one http-proxy-3 server, with a keep-alive agent per backend. */
export function createHttpProxy3Engine(log: Logger, trust: () => BackendTrust = () => DEFAULT_TRUST): Engine {
  const proxy = createProxyServer({ xfwd: false, prependPath: true });
  dropDeleteLength(proxy);
  const agents = new AgentCache(trust);
  /** wanted: the backends the last retain() kept; undefined = all. */
  let wanted: Set<string> | undefined;
  const dropIfUnwanted = (url: string) => {
    if (wanted && !wanted.has(url) && !agents.busy(url)) agents.drop(url);
  };
  // A Map emptied on settle, not a WeakMap: a WeakMap entry (req → attempt,
  // which refers back to req) kept each request alive through young-generation
  // GCs, so every exchange was promoted and left to mark-compact. Measured
  // (wrk -c50, 1 core): scavenge 18 → 2 ms, GC 46 → 16 ms per 1,000 requests,
  // with the changes below 245–250 → 177–183 µs CPU/request.
  const live = new Map<IncomingMessage, Attempt>();
  const upgrades = new WeakMap<IncomingMessage, (proxyReq: ClientRequest) => void>();

  proxy.on('proxyReq', (proxyReq, req, _res, _opts, socket) => {
    live.get(req as IncomingMessage)?.onProxyReq(proxyReq, socket as Socket);
  });
  proxy.on('proxyRes', (proxyRes, req) => {
    live.get(req as IncomingMessage)?.onProxyRes(proxyRes as IncomingMessage);
  });
  proxy.on('proxyReqWs', (proxyReq, req) => {
    upgrades.get(req as IncomingMessage)?.(proxyReq);
  });
  proxy.on('econnreset', (_err, req) => {
    live.get(req as IncomingMessage)?.settle({ kind: 'client-abort' });
  });
  // Last resort: without an 'error' listener http-proxy-3 throws. Per-call
  // callbacks handle attempts; this only sees stray errors.
  proxy.on('error', (err, req) => {
    const a = live.get(req as IncomingMessage);
    if (a) a.onError(err as NodeJS.ErrnoException);
    else if (log.isDebugEnabled()) log.debug(`proxy error outside an attempt: ${err.message}`);
  });

  return {
    name: 'http-proxy-3',

    forward(req, res, target, opts) {
      const body = opts.body.source();
      const route = agents.route(target);
      const outcome = new Promise<AttemptOutcome>((resolve) => {
        const attempt = new Attempt(live, req, res, opts, body.stream === undefined, body.release, resolve);
        live.set(req, attempt);
        // Each web() call leaves one 'error' listener on req, and one 'close'
        // listener on res (plus the attempt's own), for the rest of the
        // exchange. The loop bounds the attempts (maxAttempts × (sameBackend
        // + 2)); keep the limit ahead so 12 seed-default retries do not print
        // MaxListenersExceededWarning.
        req.setMaxListeners(req.getMaxListeners() + 1);
        res.setMaxListeners(res.getMaxListeners() + 2);
        try {
          // route.target is a parsed URL: http-proxy-3 would run `new URL` on a string (250 ns) per call.
          proxy.web(req, res, { target: route.target, agent: route.agent, buffer: body.stream }, (err) => {
            attempt.onError(err as NodeJS.ErrnoException);
          });
        } catch (err) {
          // http-proxy-3 throws synchronously on a request target it cannot
          // parse; handle-request rejects those with 400 first, this is the net.
          attempt.settle({ kind: 'connect-failed', code: (err as NodeJS.ErrnoException).code ?? 'EPROXY' });
        }
      });
      // A backend that no generation keeps loses its agent once its last
      // attempt has let go of the socket (the socket is freed after 'end').
      if (wanted && !wanted.has(target)) void outcome.then(() => setImmediate(dropIfUnwanted, target));
      return outcome;
    },

    async upgrade(req, socket, head, target, connectTimeoutMs) {
      // Connect first, then hand the client socket to http-proxy-3: its ws()
      // ends the client's socket on any error, so a backend that refuses
      // would leave nothing to retry with. A refused connect is reported as
      // such (connectFailed) with the client untouched, and the caller tries
      // the next backend (found by npm run soak: an upgrade sent to a
      // just-killed backend dropped the client).
      let backendSocket: Socket;
      try {
        backendSocket = await connectTo(target, connectTimeoutMs, trust());
      } catch (err) {
        return { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'ECONNREFUSED', connectFailed: true };
      }
      if (socket.destroyed) {
        backendSocket.destroy();
        return { ok: false, code: 'client abort' };
      }
      const agent = oneShotAgent(target, backendSocket);
      return new Promise((resolve) => {
        let done = false;
        const finish = (r: { ok: boolean; code?: string }) => {
          if (done) return;
          done = true;
          backendSocket.destroy(); // idempotent; frees it if http-proxy-3 never used it
          resolve(r);
        };
        upgrades.set(req, (proxyReq) => {
          // The request target as the client sent it (see onProxyReq).
          proxyReq.path = req.url as string;
        });
        try {
          proxy.ws(req, socket as Socket, head, { target, agent }, (err) => {
            finish({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN' });
          });
        } catch (err) {
          socket.destroy();
          finish({ ok: false, code: (err as NodeJS.ErrnoException).code ?? 'EPROXY' });
        }
        socket.once('close', () => finish({ ok: true }));
      });
    },

    retain(urls) {
      wanted = new Set(urls);
      for (const url of agents.urls()) dropIfUnwanted(url);
    },

    close() {
      agents.close();
    },
  };
}
