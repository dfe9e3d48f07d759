/**
 * The undici engine: one undici Pool per backend (keep-alive, pipelining 1,
 * no connection cap, so no request ever waits in a queue with its timeouts
 * not running), driven through `dispatch()` with a handler that writes the
 * backend's answer straight into the client's response: headers once, in
 * the case the backend sent them, each body chunk as it arrives, with
 * backpressure (a full client socket pauses the backend's).
 *
 * Timeouts map onto undici's: timeouts.connect → the pool's connect
 * timeout, timeouts.response → headersTimeout (request sent → response
 * headers), timeouts.idle → bodyTimeout (between body chunks). The outcome
 * classification is what the retry loop needs: an error before undici hands
 * the request to a connected socket (onConnect) is a connect failure, the
 * backend saw nothing; after it, before any answer, it is `sent-failed`;
 * after the headers, the answer was cut. undici does not say whether the
 * socket was a reused one, so `reused` is always false here: a keep-alive
 * race then goes to the next backend (when safe) instead of the same one.
 *
 * Upgrades (WebSocket) go through http-proxy-3, as the contract says.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { type BackendTrust, backendTlsOptions, DEFAULT_TRUST } from '../../config/backend-tls.js';
import type { AttemptOutcome, Engine, ForwardOptions } from '../engine.js';
import { shapeRawResponseHeaders } from '../response.js';

/** ErrorWithCode is what undici and node:net reject with. */
type ErrorWithCode = Error & { code?: string };

const noop = () => {};

/**
 * UndiciAttempt is one forward(): undici's (legacy, raw-header) dispatch
 * handler and the bookkeeping that settles the attempt exactly once.
 */
class UndiciAttempt {
  readonly #res: ServerResponse;
  readonly #setCookie: string | undefined;
  readonly #release: () => void;
  readonly #resolve: (o: AttemptOutcome) => void;
  #abort: ((err?: Error) => void) | undefined;
  #resume: () => void = noop;
  #connected = false;
  #status = 0;
  /** length is the Content-Length the backend declared (shapeRawResponseHeaders notes it). */
  length: number | undefined;
  #settled = false;
  readonly #onResClose = () => this.#resClosed();
  readonly #onDrain = () => this.#resume();
  /** #headersPhase names a headersTimeout: `idle` when timeouts.idle was the shorter of the two. */
  readonly #headersPhase: 'response' | 'idle';

  constructor(res: ServerResponse, setCookie: string | undefined, headersPhase: 'response' | 'idle', release: () => void, resolve: (o: AttemptOutcome) => void) {
    this.#res = res;
    this.#headersPhase = headersPhase;
    this.#setCookie = setCookie;
    this.#release = release;
    this.#resolve = resolve;
    res.once('close', this.#onResClose);
  }

  #settle(o: AttemptOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#res.off('close', this.#onResClose);
    this.#res.off('drain', this.#onDrain);
    this.#resolve(o);
  }

  /** #resClosed: the client's response closed before the backend's answer was complete: the client went away. */
  #resClosed(): void {
    // Settle first: aborting makes undici call onError at once, which must
    // not count the client's leaving as a cut by the backend.
    this.#settle({ kind: 'client-abort' });
    this.#abort?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#settled) {
      abort();
      return;
    }
    this.#abort = abort;
    this.#connected = true;
    this.#release();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200 || this.#settled) return true; // 1xx (103 Early Hints …) are not forwarded
    this.#status = status;
    this.#resume = resume;
    const res = this.#res;
    const headers = shapeRawResponseHeaders(raw, res.shouldKeepAlive, this.#setCookie, this);
    // One write of the whole head, names in the backend's case (a flat list: no header object, no setHeader per name).
    res.writeHead(status, statusText || undefined, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true;
    if (this.#res.write(chunk)) return true;
    this.#res.once('drain', this.#onDrain);
    return false;
  }

  onComplete(): void {
    if (this.#settled) return;
    this.#res.off('close', this.#onResClose);
    this.#res.end();
    this.#settle({ kind: 'response', status: this.#status, complete: true, length: this.length });
  }

  onError(err: ErrorWithCode): void {
    if (this.#settled) return;
    const res = this.#res;
    if (this.#status !== 0) {
      // The answer has started: it can never be retried; close the client's
      // connection rather than leave it hanging or end it as if complete.
      res.destroy();
      this.#settle({ kind: 'response', status: this.#status, complete: false });
      return;
    }
    if (res.destroyed || res.req.socket.destroyed) return this.#settle({ kind: 'client-abort' });
    const code = err.code ?? 'EUNKNOWN';
    if (code === 'UND_ERR_HEADERS_TIMEOUT') return this.#settle({ kind: 'timeout', phase: this.#headersPhase });
    if (code === 'UND_ERR_BODY_TIMEOUT') return this.#settle({ kind: 'timeout', phase: 'idle' });
    if (!this.#connected) {
      // Same words as the other engine, so logs and metrics do not depend on the engine.
      return this.#settle({ kind: 'connect-failed', code: code === 'UND_ERR_CONNECT_TIMEOUT' ? 'ECONNECT_TIMEOUT' : code });
    }
    this.#settle({ kind: 'sent-failed', code: code === 'UND_ERR_SOCKET' ? 'ECONNRESET' : code, reused: false });
  }
}

/** BackendPool is one backend's undici Pool and the connect timeout it was made with. */
interface BackendPool {
  pool: Pool;
  connectMs: number;
  /** trustKey: the tls.backend it was made with. */
  trustKey: string;
}

/**
 * createUndiciEngine returns an Engine on undici Pools, one per backend.
 * `upgrade` is the engine WebSocket upgrades go through (http-proxy-3).
 */
export function createUndiciEngine(upgrade: Engine['upgrade'], trustOf: () => BackendTrust = () => DEFAULT_TRUST): Engine {
  const pools = new Map<string, BackendPool>();
  /** wanted: the backends the last retain() kept; undefined = all. */
  let wanted: Set<string> | undefined;

  const poolFor = (url: string, connectMs: number): Pool => {
    const have = pools.get(url);
    const trust = url.charCodeAt(4) === 115 /* https: */ ? trustOf() : DEFAULT_TRUST;
    if (have && have.connectMs === connectMs && have.trustKey === trust.key) return have.pool;
    // A reload changed timeouts.connect or tls.backend: new requests get a
    // pool with the new settings; the old one closes once its requests are done.
    if (have) void have.pool.close().catch(noop);
    const pool = new Pool(url, {
      connections: null,
      pipelining: 1,
      connect: { timeout: connectMs, ...(url.startsWith('https:') ? backendTlsOptions(url, trust) : {}) },
    });
    pools.set(url, { pool, connectMs, trustKey: trust.key });
    return pool;
  };

  /**
   * recycle retires a backend's pool after a transport failure: when a
   * backend dies, its idle keep-alive connections die with it, and a request
   * sent on one before undici notices fails after it was sent (a POST then
   * cannot be replayed). A fresh pool connects anew: refused, which is
   * retried safely. Found by `npm run soak` (POSTs started after a kill -9
   * failed with YALB_ERR_UPSTREAM_RESET).
   */
  const recycle = (url: string, pool: Pool) => {
    const have = pools.get(url);
    if (have?.pool !== pool) return;
    pools.delete(url);
    void pool.close().catch(noop);
  };

  return {
    name: 'undici',

    forward(req: IncomingMessage, res: ServerResponse, target: string, opts: ForwardOptions): Promise<AttemptOutcome> {
      const pool = poolFor(target, opts.timeouts.connectMs);
      const buffered = opts.body.buffered;
      return new Promise<AttemptOutcome>((resolve) => {
        // A buffered body goes as bytes (no stream per attempt); a streamed
        // one flows once undici has a connected socket for it (release).
        let body: Buffer | Readable | null = null;
        let release = noop;
        if (buffered === undefined) {
          const src = opts.body.source();
          body = src.stream ?? null;
          release = src.release;
        } else if (buffered.length > 0) {
          body = buffered;
        }
        // Before the headers nothing comes from the backend once the request
        // is sent, so "no byte for timeouts.idle" is a headers timeout too.
        const { responseMs, idleMs } = opts.timeouts;
        const idleFirst = idleMs > 0 && (responseMs === 0 || idleMs < responseMs); // 0 turns a timeout off, here as in undici
        const attempt = new UndiciAttempt(res, opts.setCookie, idleFirst ? 'idle' : 'response', release, (o) => {
          if (o.kind === 'sent-failed' || (o.kind === 'connect-failed' && pool.stats.connected > 0)) recycle(target, pool);
          resolve(o);
        });
        // undici frames the body itself (chunked when its length is unknown)
        // and refuses a transfer-encoding header.
        const headers = req.headers;
        if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
        try {
          pool.dispatch({
            path: req.url as string,
            method: req.method as string,
            headers: headers as Record<string, string | string[]>,
            body,
            headersTimeout: idleFirst ? idleMs : responseMs,
            bodyTimeout: idleMs,
          }, attempt);
        } catch (err) {
          attempt.onError(err as ErrorWithCode);
        }
      });
    },

    upgrade,

    retain(urls) {
      wanted = new Set(urls);
      for (const [url, p] of pools) {
        if (wanted.has(url)) continue;
        pools.delete(url);
        // close() lets the requests in flight finish, then closes the connections.
        void p.pool.close().catch(noop);
      }
    },

    close() {
      for (const p of pools.values()) void p.pool.destroy().catch(noop);
      pools.clear();
    },
  };
}
