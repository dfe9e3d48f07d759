/**
 * THE LOOP. A request reads the current route (pool generation + settings)
 * once and finishes on it, however many reloads happen meanwhile. Each
 * attempt goes through the engine; the pure decide() says what comes next;
 * retries are plain local counters and a `tried` set (nginx `rrp->tried`),
 * never values hung on the request and never a re-entry from an error
 * callback (the seed's recursion through its ErrorHandler).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { Backend } from '../pool/backend.js';
import type { AttemptVerdict } from '../pool/pool.js';
import { parseStickyCookie, stickyCookie } from '../pool/sticky.js';
import { EMPTY_BODY, hasNoBody, RequestBody, readBody } from './body.js';
import { prepareRequestHeaders } from './headers.js';
import { hashKeyOf } from './request-key.js';
import { type AttemptOutcome, decide, type FailKind, type RequestProgress } from './retry-policy.js';
import type { RetryBudget } from './retry-budget.js';
import type { Route, RouteHolder, Served } from './settings.js';
import { stripPath } from '../routes/matcher.js';
import { RequestQueue } from './queue.js';
import { addVia, hostHeaders, looped } from './request-checks.js';
import type { RequestIds } from './request-id.js';

export { newViaToken } from './request-checks.js';
export { RequestIds } from './request-id.js';
import { type FailureKind, sendFailure } from './status.js';

/** RequestRecord describes one finished request, for metrics and the access log. */
export interface RequestRecord {
  req: IncomingMessage;
  res: ServerResponse;
  status: number;
  backend: string | undefined;
  attempts: number;
  retries: number;
  durationMs: number;
  failure: FailureKind | undefined;
  /** bytes: response body bytes sent to the client (counted as written), when known. */
  bytes: number | undefined;
  /** bytesIn: request body bytes received from the client and sent on (0 when no backend was tried). */
  bytesIn: number;
  /** requestId: the X-Request-Id sent to the backend (the client's, or one yalb made); '' when none was set. */
  requestId: string;
  /** pool: the name of the pool the request was routed to; '' when none was (a bad request, no route). */
  pool: string;
}

/**
 * recordOf makes a RequestRecord, always with the same fields in the same
 * order (one object shape). Measured: building the record by spreading a
 * partial one cost 15–20 µs CPU per request (of ~90) under wrk -c50.
 */
function recordOf(req: IncomingMessage, res: ServerResponse, status: number, backend: string | undefined, attempts: number, retries: number, failure: FailureKind | undefined, bytes: number | undefined): RequestRecord {
  return { req, res, status, backend, attempts, retries, durationMs: 0, failure, bytes, bytesIn: 0, requestId: '', pool: '' };
}

/** RetryResult is what became of a retry: granted or refused by the budget, or a failover that needs no slot. */
export type RetryResult = 'granted' | 'refused' | 'failover';

/** ProxyObserver hears about finished requests, attempts and retries (metrics, access log). */
export interface ProxyObserver {
  requestEnded(r: RequestRecord): void;
  /** retried: a retry away from a failed attempt on `backend`, and the budget's answer ('failover': one that needs no slot). */
  retried(backend: string, reason: 'connect' | 'reset' | 'timeout', result: RetryResult): void;
  /** attempted: one attempt on `backend` ended as `outcome`. */
  attempted?(backend: string, outcome: AttemptOutcome): void;
  /** clientError: the listener answered a request it could not parse (400, 408, 431) without the handler. */
  clientError?(status: number, reason: string): void;
  /** connection: a client connection opened (+1) or closed (-1). */
  connection?(delta: 1 | -1): void;
}

/** ProxyDeps are what the request handler is built from (all passed in, nothing global). */
export interface ProxyDeps {
  holder: RouteHolder;
  /** via: this daemon's Via pseudonym (request-checks.ts), shared by its workers: a request carrying it has looped. */
  via: string;
  budget: RetryBudget;
  observer: ProxyObserver;
  log: Logger;
  /** requestIds: the X-Request-Id maker of this process (request-id.ts). */
  requestIds: RequestIds;
}

/** viaTls tells whether the client reached a TLS listener (X-Forwarded-Proto, the sticky cookie's Secure). */
function viaTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/**
 * watchClientIdle ends a request whose body stops arriving for `ms`
 * (timeouts.clientIdle): 408 when no response has started, else the
 * connection is closed. An inactivity limit, as nginx's client_body_timeout
 * and HAProxy's timeout client, not a cap on the total upload time.
 */
function watchClientIdle(req: IncomingMessage, res: ServerResponse, ms: number): void {
  const socket = req.socket;
  const onTimeout = () => {
    if (!res.headersSent && !res.destroyed) {
      res.shouldKeepAlive = false;
      sendFailure(res, 'client-timeout');
      res.once('finish', () => socket.destroy());
    } else {
      socket.destroy();
    }
  };
  socket.setTimeout(ms);
  req.once('timeout', onTimeout);
  req.once('end', () => {
    // A response that already finished has set Node's keep-alive timeout on the socket: keep it.
    if (!res.writableFinished) socket.setTimeout(0);
    req.off('timeout', onTimeout);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function clientGone(res: ServerResponse): boolean {
  return res.destroyed || res.closed || res.req.socket.destroyed;
}

function failureOf(o: AttemptOutcome): string {
  switch (o.kind) {
    case 'connect-failed': return o.code;
    case 'sent-failed': return o.code;
    case 'timeout': return `${o.phase} timeout`;
    case 'response': return `status ${o.status}${o.complete ? '' : ' (incomplete)'}`;
    case 'client-abort': return 'client abort';
  }
}

/**
 * routeOf picks the route of a request by its Host and path (routes:,
 * compiled per generation), or undefined when none matches (404). A route
 * with stripPrefix rewrites the target before it is forwarded and says what
 * it removed in X-Forwarded-Prefix (as Traefik's StripPrefix does).
 */
function routeOf(served: Served, req: IncomingMessage): Route | undefined {
  const url = req.url as string;
  const hit = served.routes?.match(req.headers.host ?? (req.headers[':authority'] as string | undefined), url);
  if (hit === undefined) return undefined;
  if (hit.strip !== undefined) {
    req.url = stripPath(url, hit.strip);
    req.headers['x-forwarded-prefix'] = hit.strip.endsWith('/') && hit.strip.length > 1 ? hit.strip.slice(0, -1) : hit.strip;
  } else if (req.headers['x-forwarded-prefix'] !== undefined) {
    delete req.headers['x-forwarded-prefix']; // yalb owns it: a client's never reaches a backend
  }
  return hit.target;
}

/** routeOrOnly is the request's route: the one pool without routes: (a client's X-Forwarded-Prefix dropped), else routeOf. */
function routeOrOnly(served: Served, req: IncomingMessage): Route | undefined {
  if (served.routes !== undefined) return routeOf(served, req);
  if (req.headers['x-forwarded-prefix'] !== undefined) delete req.headers['x-forwarded-prefix'];
  return served;
}

/** verdictOf says how an attempt counts for the backend: a client abort never counts against it. */
function verdictOf(o: AttemptOutcome): AttemptVerdict {
  if (o.kind === 'client-abort') return 'aborted';
  return o.kind === 'response' && o.status < 500 && o.complete ? 'ok' : 'failed';
}

/** ProxyHandler serves proxied requests and upgrades; it counts what is in flight for the drain. */
export class ProxyHandler {
  readonly #d: ProxyDeps;
  /** inFlight counts requests and upgrades being served (for the drain on stop). */
  inFlight = 0;
  /** served counts requests answered since start (for /status). */
  served = 0;
  /**
   * #queues hold requests waiting for a backend slot (maxConnections), one
   * queue per pool (routes): a slot freed in one pool wakes that pool's
   * waiters, never another's. Per process.
   */
  readonly #queues = new Map<string, RequestQueue>();

  /** queue is every pool's queue summed: waiting now, and turned away since start (for /status and /metrics). */
  get queue(): { length: number; full: number; timedOut: number } {
    let length = 0;
    let full = 0;
    let timedOut = 0;
    for (const q of this.#queues.values()) {
      length += q.length;
      full += q.full;
      timedOut += q.timedOut;
    }
    return { length, full, timedOut };
  }

  #queueOf(pool: string): RequestQueue {
    let q = this.#queues.get(pool);
    if (!q) {
      q = new RequestQueue();
      this.#queues.set(pool, q);
    }
    return q;
  }

  /** #release wakes the longest waiter of `pool`'s queue, if any: a slot of that pool is free. */
  #release(pool: string): void {
    const q = this.#queues.get(pool);
    if (q !== undefined && q.length > 0) q.release();
  }
  /** #failedAt: when each backend last failed an attempt (for #isolated). */
  readonly #failedAt = new Map<string, number>();
  /**
   * closeAfterResponse: answer with `Connection: close` and close each client
   * connection after its response (a worker leaving: its clients reconnect
   * elsewhere between requests instead of racing a closed keep-alive socket).
   */
  closeAfterResponse = false;
  readonly #upgrades = new Set<Duplex>();

  constructor(deps: ProxyDeps) {
    this.#d = deps;
  }

  /** handle serves one HTTP request; never throws. */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = this.#d.holder.current;
    const started = performance.now();
    if (this.closeAfterResponse) res.shouldKeepAlive = false;
    const budget = this.#d.budget;
    this.inFlight++;
    budget.requestsInFlight++;
    // stripPrefix (routes) rewrites req.url for the backend; the access log shows what the client sent.
    const target = req.url;
    let record: RequestRecord;
    try {
      record = await this.#run(req, res, route);
    } catch (err) {
      // A bug, not a backend failure: answer 502 rather than crash, and say so.
      this.#d.log.error(`internal error while proxying ${req.method} ${req.url}: ${(err as Error)?.message ?? String(err)}`, { stack: (err as Error)?.stack, requestId: req.headers['x-request-id'] });
      record = recordOf(req, res, sendFailure(res, 'attempts-exhausted'), undefined, 0, 0, 'attempts-exhausted', undefined);
    } finally {
      this.inFlight--;
      this.served++;
      budget.requestsInFlight--;
      req.url = target;
    }
    record.durationMs = performance.now() - started;
    record.requestId = (req.headers['x-request-id'] as string | undefined) ?? '';
    this.#d.observer.requestEnded(record);
  };

  async #run(req: IncomingMessage, res: ServerResponse, served: Served): Promise<RequestRecord> {
    this.#d.requestIds.apply(req); // first: every access line, a 400 included, carries an id
    let body: RequestBody | undefined;
    let poolName = '';
    const fail = (kind: FailureKind, backend?: Backend, attempts = 0, retries = 0) => {
      const r = recordOf(req, res, sendFailure(res, kind), backend?.url, attempts, retries, kind, undefined);
      r.bytesIn = body?.bytesIn ?? 0;
      r.pool = poolName;
      return r;
    };
    // Only origin-form targets ("/path?query") are forwarded: http-proxy-3
    // would throw on an absolute URL it cannot parse, and a reverse proxy
    // has no use for absolute-form or "*" (RFC 9112 §3.2).
    if (req.url?.charCodeAt(0) !== 47 /* '/' */) return fail('bad-request');
    const via = this.#d.via;
    if (looped(req, via)) return fail('loop');
    if (hostHeaders(req) > 1) return fail('bad-host');
    // One pool (no routes:): the generation is the route, no lookup.
    const route = routeOrOnly(served, req);
    if (route === undefined) return fail('no-route');
    const { pool, settings: s, engine } = route;
    poolName = pool.name;

    prepareRequestHeaders(req, { trusted: s.trusted, tls: viaTls(req), port: req.socket.localPort });
    addVia(req, via);
    const bodyless = hasNoBody(req);
    if (s.clientIdleMs > 0 && !bodyless) watchClientIdle(req, res, s.clientIdleMs);
    const key = s.hashKey ? hashKeyOf(req, s.hashKey) : undefined;
    const tried = new Set<Backend>();

    let backend: Backend | undefined;
    const stickyName = s.stickyCookie;
    let stickyWanted: string | undefined;
    if (stickyName) {
      stickyWanted = parseStickyCookie(req.headers.cookie, stickyName);
      if (stickyWanted) backend = pool.sticky(stickyWanted, tried);
    }
    backend ??= pool.select(tried, key);
    if (!backend && pool.saturated) {
      // Every eligible backend is at its maxConnections: wait in the queue.
      const got = await this.#waitForSlot(pool, tried, key, s.queue, res);
      if (typeof got === 'string') return fail(got);
      backend = got;
    }
    if (!backend) return fail('no-backend');

    // Most requests have no body: skip the await (a promise and a microtask per request).
    const data = bodyless ? EMPTY_BODY : await readBody(req, s.bufferLimit);
    if (data === null || clientGone(res)) return fail('client-abort', backend);
    body = new RequestBody(req, data);
    const p: RequestProgress = {
      attempts: 1, sameBackendRetries: 0, raceRetried: false, method: req.method ?? 'GET', replayable: body.replayable,
    };
    let retries = 0;
    let retryHeld = false;
    // YALB_ERR_UPSTREAM_CONNECT only when every attempt failed to connect; a mix is ATTEMPTS_EXHAUSTED.
    let onlyConnects = true;
    const failKind = (k: FailKind): FailureKind => (k === 'connect' && !onlyConnects ? 'attempts-exhausted' : k);
    const budget = this.#d.budget;
    const retry = (from: Backend, reason: 'connect' | 'reset' | 'timeout'): boolean => {
      const granted = budget.tryRetry();
      this.#d.observer.retried(from.url, reason, granted ? 'granted' : 'refused');
      if (granted) {
        retryHeld = true;
        retries++;
      }
      return granted;
    };

    for (;;) {
      const b: Backend = backend;
      tried.add(b);
      let setCookie: string | undefined;
      if (stickyName) {
        const id = b.stickyId;
        if (id !== stickyWanted) setCookie = stickyCookie(stickyName, id, viaTls(req));
      }
      pool.begin(b);
      let outcome: AttemptOutcome = { kind: 'client-abort' };
      try {
        outcome = await engine.forward(req, res, b.url, { body, timeouts: s.timeouts, setCookie });
      } finally {
        const verdict = verdictOf(outcome);
        pool.end(b, verdict, verdict === 'ok' ? '' : failureOf(outcome)); // no string built for a success
        this.#d.observer.attempted?.(b.url, outcome);
        if (verdict === 'failed') this.#failedAt.set(b.url, performance.now());
        this.#release(pool.name); // a slot is free: the pool's longest waiter picks again
        if (retryHeld) {
          budget.releaseRetry();
          retryHeld = false;
        }
      }
      if (outcome.kind !== 'connect-failed') onlyConnects = false;
      p.replayable = body.replayable;
      // Whatever went wrong, a response that has started is never retried.
      if (res.headersSent && outcome.kind !== 'response' && outcome.kind !== 'client-abort') {
        res.destroy();
        const r = recordOf(req, res, res.statusCode, b.url, p.attempts, retries, undefined, undefined);
        r.bytesIn = body.bytesIn;
        r.pool = poolName;
        return r;
      }
      const d = decide(outcome, p, s); // ProxySettings carries the RetryRules: no object per attempt
      if ((d.action === 'next-backend' || d.action === 'fail') && d.markDown) {
        pool.markDown(b, `${p.sameBackendRetries + 1} failed connects: ${failureOf(outcome)}`);
      }
      if (d.action === 'done') {
        if (outcome.kind === 'client-abort') return fail('client-abort', b, p.attempts, retries);
        const r = outcome.kind === 'response'
          ? recordOf(req, res, outcome.status, b.url, p.attempts, retries, undefined, outcome.bytes)
          : recordOf(req, res, 0, b.url, p.attempts, retries, undefined, undefined);
        r.bytesIn = body.bytesIn;
        r.pool = poolName;
        return r;
      }
      if (d.action === 'fail') return fail(failKind(d.kind), b, p.attempts, retries);
      const reason = outcome.kind === 'connect-failed' ? 'connect' : outcome.kind === 'timeout' ? 'timeout' : 'reset';
      // A backend death is one event, not a retry storm:
      // - a request that never reached a backend (connect failed) moves on
      //   to the next one without a budget slot: that adds no load anywhere;
      // - same-backend connect retries are skipped once the backend is down
      //   (a sibling request already marked it), and when the budget has no
      //   slot for them the request moves on instead of failing;
      // - moving on from a backend that is now down or ejected is failover,
      //   not amplification: no slot either. The budget still limits retries
      //   against backends that stay up (a pool failing as a whole).
      const delay = d.action === 'retry-same' && d.delay;
      let action = d.action;
      if (action === 'retry-same' && delay && (!b.available || !retry(b, reason))) {
        if (p.attempts >= s.maxAttempts) return fail(failKind('connect'), b, p.attempts, retries);
        action = 'next-backend';
      } else if (action === 'retry-same' && !delay && !retry(b, reason)) {
        return fail('budget', b, p.attempts, retries);
      }
      if (action === 'retry-same') {
        if (delay && s.retryDelayMs > 0) await sleep(s.retryDelayMs);
        if (delay) p.sameBackendRetries++;
        else p.raceRetried = true;
      } else {
        const next = pool.select(tried, key);
        if (!next) {
          const k = outcome.kind === 'timeout' ? 'timeout' : outcome.kind === 'connect-failed' ? 'connect' : 'attempts-exhausted';
          return fail(failKind(k), b, p.attempts, retries);
        }
        if (outcome.kind === 'connect-failed' || !b.available || this.#isolated(pool.backends.length)) {
          this.#d.observer.retried(b.url, reason, 'failover');
          retries++;
        } else if (!retry(b, reason)) {
          return fail('budget', b, p.attempts, retries);
        }
        backend = next;
        p.attempts++;
        p.sameBackendRetries = 0;
      }
      if (clientGone(res)) {
        if (retryHeld) {
          budget.releaseRetry();
          retryHeld = false;
        }
        return fail('client-abort', backend, p.attempts, retries);
      }
    }
  }

  /**
   * upgrade passes a WebSocket upgrade to a backend picked the same way as
   * requests. A backend that cannot be reached is followed by the next one
   * (the engine connects before it takes the client's socket). Other
   * upgrades (h2c, a POST with Upgrade) get 400: http-proxy-3 passes only
   * WebSocket GETs, and silently dropped the rest.
   */
  readonly upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const served = this.#d.holder.current;
    socket.on('error', () => socket.destroy());
    const websocket = req.method === 'GET' && req.headers.upgrade?.toLowerCase() === 'websocket';
    if (req.url?.charCodeAt(0) !== 47 /* '/' */ || !websocket) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: YALB_ERR_BAD_REQUEST\r\n\r\n');
      return;
    }
    const via = this.#d.via;
    if (looped(req, via) || hostHeaders(req) > 1) {
      const [line, code] = looped(req, via) ? ['508 Loop Detected', 'YALB_ERR_LOOP'] : ['400 Bad Request', 'YALB_ERR_BAD_REQUEST'];
      socket.end(`HTTP/1.1 ${line}\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: ${code}\r\n\r\n`);
      return;
    }
    const route = routeOrOnly(served, req);
    if (route === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: YALB_ERR_NO_ROUTE\r\n\r\n');
      return;
    }
    const { pool, settings: s, engine } = route;
    prepareRequestHeaders(req, { trusted: s.trusted, tls: viaTls(req), port: req.socket.localPort }, true);
    addVia(req, via);
    this.#d.requestIds.apply(req);
    const key = s.hashKey ? hashKeyOf(req, s.hashKey) : undefined;
    // Follow a sticky cookie (Socket.IO-style clients upgrade on the backend
    // that served their polling requests); a 101 cannot set a new one.
    const stickyWanted = s.stickyCookie ? parseStickyCookie(req.headers.cookie, s.stickyCookie) : undefined;
    const tried = new Set<Backend>();
    let b = (stickyWanted ? pool.sticky(stickyWanted, tried) : undefined) ?? pool.select(tried, key);
    if (!b) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: YALB_ERR_NO_BACKEND\r\n\r\n');
      return;
    }
    this.inFlight++;
    this.#upgrades.add(socket);
    try {
      // A backend that cannot be reached leaves the client's socket untouched
      // (engine.upgrade connects first): the next backend is tried, up to
      // retry.maxAttempts, as for requests.
      for (let attempt = 1; b; attempt++) {
        tried.add(b);
        pool.begin(b);
        let verdict: AttemptVerdict = 'aborted';
        let reason = 'client abort';
        let again = false;
        try {
          const r = await engine.upgrade(req, socket, head, b.url, s.timeouts.connectMs);
          verdict = r.ok ? 'ok' : 'failed';
          reason = r.ok ? 'upgrade closed' : (r.code ?? 'upgrade failed');
          again = r.connectFailed === true && !socket.destroyed;
        } finally {
          pool.end(b, verdict, reason);
          this.#release(pool.name);
        }
        if (!again) return;
        b = attempt < s.maxAttempts ? pool.select(tried, key) : undefined;
      }
      socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\nX-Yalb-Error: YALB_ERR_UPSTREAM_CONNECT\r\n\r\n');
    } finally {
      this.inFlight--;
      this.#upgrades.delete(socket);
    }
  };

  /**
   * #isolated tells whether the backends that failed in the last second are
   * at most half the pool: one backend dying (its in-flight requests all
   * reset at once) is then failover, not a storm, and needs no budget slot
   * (one dead backend of two included). When more are failing, the budget
   * decides.
   */
  #isolated(poolSize: number): boolean {
    const since = performance.now() - 1000;
    let failing = 0;
    for (const [url, at] of this.#failedAt) {
      if (at < since) this.#failedAt.delete(url);
      else failing++;
    }
    return failing * 2 <= poolSize;
  }

  /**
   * #waitForSlot waits in the queue until a pick finds a backend with room,
   * or answers why not: queue full, timed out, or the client left.
   */
  async #waitForSlot(
    pool: Route['pool'], tried: ReadonlySet<Backend>, key: string | undefined, q: { size: number; timeoutMs: number }, res: ServerResponse,
  ): Promise<Backend | FailureKind> {
    if (q.size === 0) return 'queue-full';
    const deadline = performance.now() + q.timeoutMs;
    let cancel: (() => void) | undefined;
    const onClose = () => cancel?.();
    res.once('close', onClose);
    try {
      let front = false;
      for (;;) {
        if (clientGone(res)) return 'client-abort';
        const r = await this.#queueOf(pool.name).wait(q.size, deadline - performance.now(), (c) => { cancel = c; }, front);
        if (r === 'full') return 'queue-full';
        if (r === 'timeout') return 'queue-timeout';
        if (r === 'gone') return 'client-abort';
        const b = pool.select(tried, key);
        if (b) return b;
        if (!pool.saturated) return 'no-backend';
        front = true; // woken but beaten to the slot: back to the head of the queue
      }
    } finally {
      res.off('close', onClose);
    }
  }

  /** connections counts the client connections open now (for /metrics). */
  connections = 0;

  /** connectionOpened counts a client connection until it closes (the listener calls it). */
  connectionOpened(socket: Duplex): void {
    this.connections++;
    this.#d.observer.connection?.(1);
    socket.once('close', () => {
      this.connections--;
      this.#d.observer.connection?.(-1);
    });
  }

  /** clientError hears an answer the listener wrote itself to a request it could not parse (400, 408, 431). */
  clientError(status: number, reason: string): void {
    this.#d.observer.clientError?.(status, reason);
  }

  /** closeUpgrades ends every open upgraded connection (after the drain on stop). */
  closeUpgrades(): void {
    for (const s of this.#upgrades) s.destroy();
    this.#upgrades.clear();
  }
}
