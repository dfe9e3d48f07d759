/**
 * A cluster worker (`workers:` > 1): it serves the proxy and nothing else.
 * It never reads the config file, never probes and never binds a port: the
 * primary sends it each applied generation (the validated config and its
 * backends' states), every state change, and the client connections it
 * accepts. The worker builds its route from a generation exactly as one
 * process does (same Pool, settings and engine), swaps it in by one
 * assignment (in-flight requests finish where they started), and sends
 * passive results up: the primary decides ejections for every worker.
 *
 * What stays per worker: the traffic counters (in flight, requests,
 * failures), the round-robin position, least-connections' in-flight
 * counts, the retry budget, and the pooled connections to backends.
 */
import { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { queueDoc, type WorkerReport } from '../admin/status.js';
import { RequestTally } from '../admin/request-tally.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { PassiveUpstream } from '../pool/pool.js';
import { BackendRegistry } from '../pool/registry.js';
import { Engines } from '../proxy/engine.js';
import { ProxyHandler, RequestIds } from '../proxy/handle-request.js';
import { RetryBudget } from '../proxy/retry-budget.js';
import { closeGracefully, createProxyListener } from '../proxy/server.js';
import { engineNameOf } from '../proxy/settings.js';
import { servedPools, type ServedPools } from '../reload/generation.js';
import { SniContexts } from '../tls/contexts.js';
import { type BackendTrust, DEFAULT_TRUST, loadBackendTrust } from '../config/backend-tls.js';
import { AccessLog } from './access-log.js';
import { tallyObserver } from './request-observer.js';
import type { GenerationMessage, ToPrimary, ToWorker } from './ipc.js';

/** Channel is the worker's end of the IPC channel (process, in a forked worker). */
export interface Channel {
  send(msg: ToPrimary): void;
  on(event: 'message', fn: (msg: ToWorker, handle?: Socket) => void): unknown;
  on(event: 'disconnect', fn: () => void): unknown;
}

interface WorkerRoute extends ServedPools {
  readonly number: number;
  readonly trust: BackendTrust;
}

/** Worker is one serving process of a cluster. */
export class Worker {
  readonly id: number;
  readonly #channel: Channel;
  readonly #log: Logger;
  readonly #registry = new BackendRegistry(); // transitions are logged by the primary, not here
  readonly #engines: Engines;
  readonly #budget = new RetryBudget(0.2);
  readonly #tally = new RequestTally();
  readonly #accessLog = new AccessLog();
  readonly #handler: ProxyHandler;
  readonly #upstream: PassiveUpstream;
  readonly #startedAt = Date.now();
  #server: ReturnType<typeof createProxyListener> | undefined;
  /** #tls: the certificates this worker serves (sent by the primary), when the listener is HTTPS. */
  #tls: SniContexts | undefined;
  #route: WorkerRoute | undefined;
  #stopping: Promise<void> | undefined;
  #maxConnections: number | undefined;
  /** #connections counts the client connections this worker holds. */
  #connections = 0;

  readonly #exit: () => void;

  /** `exit` ends the process once the worker has stopped (the entry point's process.exit). */
  constructor(id: number, via: string, channel: Channel, log: Logger, exit: () => void) {
    this.id = id;
    this.#channel = channel;
    this.#exit = exit;
    this.#log = log;
    this.#engines = new Engines(log, () => this.#route?.trust ?? DEFAULT_TRUST);
    this.#upstream = {
      outcome: (url, ok, reason, pool) => channel.send({ t: 'outcome', url, ok, reason, pool }),
      markDown: (url, reason, pool) => channel.send({ t: 'markDown', url, reason, pool }),
    };
    this.#handler = new ProxyHandler({
      holder: this,
      via,
      budget: this.#budget,
      log,
      observer: tallyObserver(this.#tally, this.#accessLog),
      requestIds: new RequestIds(),
    });
  }

  /** current is the generation new requests use (ProxyHandler's RouteHolder). */
  get current(): ServedPools {
    if (!this.#route) throw new Error('worker has no generation yet');
    return this.#route;
  }

  /** listen wires the channel: from now on the worker takes generations, states and connections. */
  listen(): void {
    this.#channel.on('message', (msg, handle) => this.#onMessage(msg, handle));
    // The primary is gone (exited, or killed): finish what is in flight and leave, never an orphan.
    this.#channel.on('disconnect', () => void this.stop(2_000).then(this.#exit));
  }

  #onMessage(msg: ToWorker, handle: Socket | undefined): void {
    switch (msg.t) {
      case 'init':
        this.#tls = msg.certs ? new SniContexts(msg.certs) : undefined;
        this.#server = createProxyListener(this.#handler, msg.listener, () => this.#maxConnections, this.#tls);
        // The server never listens (the primary accepts): 'listening' starts
        // Node's connection tracking, which headersTimeout / requestTimeout
        // and closeIdleConnections() need.
        this.#server.emit('listening');
        this.#apply(msg.generation);
        return;
      case 'generation':
        this.#apply(msg);
        return;
      case 'certs':
        try {
          this.#tls?.apply(msg.certs);
        } catch (err) {
          this.#log.error(`YALB_ERR_TLS_CERTIFICATE: worker ${this.id} cannot serve the new certificates (${(err as Error).message}); keeping the old ones`);
        }
        return;
      case 'state':
        for (const s of msg.states) this.#registry.mirror(s);
        return;
      case 'conn':
        if (!handle) return;
        if (this.#stopping || !this.#server) {
          handle.destroy();
          return;
        }
        // A socket that comes over IPC skips net.Server's accept path, which
        // is where http.Server turns Nagle off: without this, small
        // responses wait for delayed ACKs (measured, workers: 2, wrk -c50:
        // 2,778 → 6,153 req/s, p99 729 → 428 ms, same noisy minute).
        handle.setNoDelay(true);
        this.#connections++;
        handle.once('close', () => this.#connections--);
        this.#server.emit('connection', handle);
        this.#channel.send({ t: 'ack', id: msg.id });
        return;
      case 'report':
        this.#channel.send({ t: 'report', id: msg.id, report: this.report() });
        return;
      case 'reopen':
        this.#accessLog.reopen();
        return;
      case 'drain':
        void this.stop(msg.ms, msg.gentle).then(this.#exit);
        return;
    }
  }

  /** #apply builds the route of a generation and swaps it in (older or repeated generations are ignored). */
  #apply(g: GenerationMessage): void {
    const old = this.#route;
    if (old && g.number <= old.number) return;
    for (const s of g.states) this.#registry.mirror(s);
    const cfg = g.config;
    let trust = old?.trust ?? DEFAULT_TRUST;
    try {
      trust = loadBackendTrust(cfg.tls?.backend); // the primary checked the CA file; a race keeps the last one
    } catch (err) {
      this.#log.error(`worker ${this.id}: tls.backend: ${(err as Error).message}; keeping the previous backend CA`);
    }
    const served = servedPools(cfg, g.number, this.#registry, this.#engines.get(engineNameOf(cfg)), { upstream: this.#upstream });
    this.#route = { ...served, number: g.number, trust };
    for (const r of served.pools) r.pool.serve(old?.poolNamed(r.pool.name));
    const urls = served.backends.map((b) => b.url);
    this.#registry.retain(urls);
    this.#engines.retain(urls);
    this.#tally.retain(urls);
    this.#tally.retainPools(served.pools.map((r) => r.pool.name));
    this.#budget.ratio = cfg.retry.budget;
    this.#maxConnections = cfg.limits.maxConnections || undefined; // 0 = no limit
    this.#accessLog.configure(cfg.accessLog, this.#log);
    this.#log.level = cfg.log.level;
    this.#channel.send({ t: 'ready', generation: g.number });
  }

  /** report is what /status and /metrics show of this worker. */
  report(): WorkerReport {
    const route = this.#route;
    return {
      id: this.id,
      pid: process.pid,
      startedAt: this.#startedAt,
      requests: this.#handler.served,
      inFlight: this.#handler.inFlight,
      generation: this.#route?.number ?? 0,
      queue: queueDoc(this.#handler.queue),
      tally: this.#tally.snapshot(),
      traffic: (route?.backends ?? []).map((b) => [b.url, b.traffic.inFlight, b.traffic.requests, b.traffic.failures]),
      connections: this.#handler.connections,
    };
  }

  /**
   * stop lets in-flight requests finish (bounded by `ms`), then closes
   * everything. `gentle`: first close each connection after its next
   * response, and wait (within `ms`) for the clients to leave. Idempotent.
   */
  stop(ms: number, gentle = false): Promise<void> {
    this.#stopping ??= (async () => {
      const deadline = Date.now() + ms;
      if (gentle) {
        this.#handler.closeAfterResponse = true;
        while (this.#connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      }
      if (this.#server) await closeGracefully(this.#server, () => this.#handler.inFlight, Math.max(0, deadline - Date.now()));
      this.#handler.closeUpgrades();
      this.#engines.close();
      await this.#accessLog.close();
    })();
    return this.#stopping;
  }
}

/**
 * ipcLogger is a worker's operational logger: each line goes to the
 * primary, which writes it to the daemon's log with the worker's id.
 */
export function ipcLogger(channel: Channel): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        try {
          const { level, msg, time: _time, log: _log, ...fields } = JSON.parse(line) as { level: string; msg: string; time?: string; log?: string };
          channel.send({ t: 'log', level, message: msg, fields });
        } catch {
          channel.send({ t: 'log', level: 'info', message: line });
        }
      }
      cb();
    },
  });
  return createLogger({ format: 'json', stream });
}
