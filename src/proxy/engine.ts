/**
 * The engine seam: how one attempt reaches a backend. An engine owns its
 * connections (its own per-backend pools), forwards one attempt and reports
 * how it ended in engine-neutral words, passes upgrades through, forgets the
 * connections of backends no generation uses (`retain`) and closes. The
 * request loop (handle-request.ts) never sees a socket, an agent or a
 * library object; response header rules and the sticky cookie are applied
 * by shapeResponseHeaders() (response.ts), which every engine calls.
 *
 * An engine is chosen per generation by `engine:` in lb.yaml (a reload can
 * switch it); generations
 * that name the same engine share one instance, so kept backends keep their
 * pooled connections across a reload.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/logger.js';
import type { EngineName } from '../config/schema.js';
import type { RequestBody } from './body.js';
import { type BackendTrust, DEFAULT_TRUST } from '../config/backend-tls.js';
import { createHttpProxy3Engine } from './engines/http-proxy-3.js';
import { createUndiciEngine } from './engines/undici.js';

/**
 * AttemptOutcome is how one attempt on one backend ended:
 * - `response`: the backend answered; `complete` is false when the answer
 *   was cut short (by the backend) after it started; `length` is its
 *   Content-Length when it declared one (for the access log).
 * - `connect-failed`: no connection was made; the backend saw nothing.
 * - `sent-failed`: the connection broke after the request may have reached
 *   the backend, before any answer; `reused` tells that the connection was
 *   an idle pooled one (the keep-alive race: the backend closed it as we
 *   wrote to it).
 * - `timeout`: no first byte within timeouts.response (`response`), or the
 *   exchange went quiet for timeouts.idle (`idle`).
 * - `client-abort`: the client went away first; not the backend's fault.
 */
export type AttemptOutcome =
  | { kind: 'response'; status: number; complete: boolean; length?: number | undefined }
  | { kind: 'connect-failed'; code: string }
  | { kind: 'sent-failed'; code: string; reused: boolean }
  | { kind: 'timeout'; phase: 'response' | 'idle' }
  | { kind: 'client-abort' };

/** AttemptTimeouts are the timeouts.* settings of one attempt, in ms. */
export interface AttemptTimeouts {
  connectMs: number;
  responseMs: number;
  idleMs: number;
}

/** ForwardOptions are the settings of one attempt. */
export interface ForwardOptions {
  /** body is the request's body across attempts; the engine opens it once it may flow. */
  body: RequestBody;
  timeouts: AttemptTimeouts;
  /** setCookie is added to the response's Set-Cookie headers (sticky sessions). */
  setCookie?: string | undefined;
}

/** UpgradeResult is how a passed-through upgrade ended. */
export interface UpgradeResult {
  ok: boolean;
  code?: string;
  /** connectFailed: the backend could not be reached; the client's socket is untouched, another backend may be tried. */
  connectFailed?: boolean;
}

/** Engine sends attempts to backends over connections it owns. */
export interface Engine {
  readonly name: EngineName;
  /** forward sends one attempt to `target` (a backend origin) and resolves once it has ended; never rejects. */
  forward(req: IncomingMessage, res: ServerResponse, target: string, opts: ForwardOptions): Promise<AttemptOutcome>;
  /** upgrade passes a WebSocket (or other) upgrade through; resolves once the tunnel closes or fails. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: string, connectTimeoutMs: number): Promise<UpgradeResult>;
  /**
   * retain keeps the connections of `urls` and drops those of every other
   * backend, each once nothing of it is in use (an old generation's request
   * may still hold one).
   */
  retain(urls: Iterable<string>): void;
  /** close drops every connection. */
  close(): void;
}

export type { EngineName } from '../config/schema.js';

/**
 * Engines holds one instance per engine name for a daemon: generations that
 * use the same engine share it (and its pooled connections).
 */
export class Engines {
  readonly #log: Logger;
  readonly #made = new Map<EngineName, Engine>();
  /** #trust reads tls.backend of the generation in use (https:// backends' certificate checks). */
  readonly #trust: () => BackendTrust;

  constructor(log: Logger, trust: () => BackendTrust = () => DEFAULT_TRUST) {
    this.#log = log;
    this.#trust = trust;
  }

  /** get returns the engine named `name`, creating it on first use. */
  get(name: EngineName): Engine {
    let e = this.#made.get(name);
    if (!e) {
      e = this.#create(name);
      this.#made.set(name, e);
    }
    return e;
  }

  #create(name: EngineName): Engine {
    switch (name) {
      case 'http-proxy-3': return createHttpProxy3Engine(this.#log, this.#trust);
      // WebSocket upgrades always go through http-proxy-3.
      case 'undici': return createUndiciEngine((...a) => this.get('http-proxy-3').upgrade(...a), this.#trust);
    }
  }

  /** retain passes retain(urls) to every engine made so far. */
  retain(urls: Iterable<string>): void {
    const keep = [...urls];
    for (const e of this.#made.values()) e.retain(keep);
  }

  /** close closes every engine. */
  close(): void {
    for (const e of this.#made.values()) e.close();
    this.#made.clear();
  }
}
