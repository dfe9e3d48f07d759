/**
 * The composition root. createDaemon() wires config → registry → pool →
 * proxy → health → reload → admin, and owns everything it creates (no
 * module state: two daemons can run in one process). The current
 * generation is one field, changed by one assignment in #commit().
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type AdminOptions, createAdminServer } from '../admin/server.js';
import { Metrics } from '../admin/metrics.js';
import { formatListen, type ListenAddress } from '../config/address.js';
import { configError, loadConfig } from '../config/load.js';
import type { LbConfig } from '../config/schema.js';
import { HealthScheduler } from '../health/scheduler.js';
import { closeLogger, createLogger, type Logger } from '../log/logger.js';
import { ReopenableFile } from '../log/reopenable-file.js';
import type { Transition } from '../pool/health-state.js';
import { Pool, type PoolDescription } from '../pool/pool.js';
import { BackendRegistry } from '../pool/registry.js';
import { AgentCache } from '../proxy/agents.js';
import { createHttpProxy3Engine } from '../proxy/forward.js';
import { ProxyHandler, type RequestRecord } from '../proxy/handle-request.js';
import { RetryBudget } from '../proxy/retry-budget.js';
import { closeGracefully, createProxyListener, listen, type ListenerOptions } from '../proxy/server.js';
import { proxySettingsFrom, type Route } from '../proxy/settings.js';
import { Reloader, type ReloadResult } from '../reload/reloader.js';
import { ConfigWatcher } from '../reload/watcher.js';
import { AccessLog } from './access-log.js';
import { VERSION } from '../version.js';

/** DaemonOptions configure a daemon; only configPath is required. */
export interface DaemonOptions {
  configPath: string;
  /** log: the operational logger; by default one is created at the config's log.level. */
  log?: Logger;
  /** logStream: where the default logger writes (default stdout). */
  logStream?: NodeJS.WritableStream;
  /** logFile: write the default logger's lines to this file (--log-file); reopened by reopenLogs(). */
  logFile?: string;
  /** watch the config file for changes (default true). */
  watch?: boolean;
  watchDebounceMs?: number;
  watchPollMs?: number;
  listener?: ListenerOptions;
  /** drainMs bounds the wait for in-flight requests on stop (default 10 s). */
  drainMs?: number;
  now?: () => number;
  random?: () => number;
  /** processMetrics: include Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
}

/** Generation is one applied config: its route (pool + settings), its health scheduler and its source. */
export interface Generation extends Route {
  readonly number: number;
  readonly config: LbConfig;
  readonly hash: string;
  readonly health: HealthScheduler;
}


function sameAddress(a: ListenAddress | undefined, b: ListenAddress | undefined): boolean {
  if (!a || !b) return a === b;
  return a.host === b.host && a.port === b.port;
}

/** Daemon is a running yalb: proxy listener, health checks, reload, admin API. */
export class Daemon {
  readonly configPath: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly registry: BackendRegistry;
  readonly reloader: Reloader;
  readonly #opts: DaemonOptions;
  readonly #ownLog: boolean;
  #logFile: ReopenableFile | undefined;
  #adminAuth: AdminOptions = {};
  readonly #agents = new AgentCache();
  readonly #budget = new RetryBudget(0.2);
  readonly #handler: ProxyHandler;
  readonly #accessLog = new AccessLog();
  #gen: Generation;
  #server: http.Server | undefined;
  #admin: http.Server | undefined;
  #watcher: ConfigWatcher | undefined;
  #reapers = new Set<NodeJS.Timeout>();
  /** #building holds the backend URLs of a generation being built, so the reaper keeps their fresh state. */
  #building = new Set<string>();
  /** #closing tracks listeners replaced by a reload that are still draining; stop() waits for them. */
  #closing = new Set<Promise<void>>();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  readonly #startedAt = Date.now();

  private constructor(opts: DaemonOptions, log: Logger, ownLog: boolean) {
    this.#opts = opts;
    this.configPath = path.resolve(opts.configPath);
    this.log = log;
    this.#ownLog = ownLog;
    this.registry = new BackendRegistry({ now: opts.now, onTransition: (t) => this.#onTransition(t) });
    this.metrics = new Metrics({
      backends: () => this.#gen.pool.backends.map((b) => ({ url: b.url, up: b.available, inFlight: b.state.inFlight })),
    }, { processMetrics: opts.processMetrics });
    this.reloader = new Reloader(this.configPath, {
      running: () => ({ config: this.#gen.config, hash: this.#gen.hash }),
      apply: (config, hash) => this.#apply(config, hash),
    }, log, {
      onResult: (ok) => {
        this.metrics.reloads.inc({ result: ok ? 'success' : 'failure' });
        if (ok) this.metrics.lastReloadSuccess.set(Date.now() / 1000);
      },
    });
    this.#handler = new ProxyHandler({
      holder: this,
      engine: createHttpProxy3Engine(log),
      agents: this.#agents,
      budget: this.#budget,
      observer: {
        requestEnded: (r) => this.#requestEnded(r),
        retried: (reason, granted) => this.metrics.retries.inc({ reason, result: granted ? 'granted' : 'refused' }),
      },
    });
    // Placeholder until start() builds generation 1; never served.
    this.#gen = undefined as unknown as Generation;
  }

  /**
   * start loads the config, probes every backend once, then opens the
   * listener (so a fresh start never answers 503 for backends that are up),
   * the admin API and the config watcher. Throws a YalbError on a bad config
   * or an address that cannot be bound.
   */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const loaded = await loadConfig(opts.configPath);
    if (!loaded.ok) throw configError(loaded);
    const ownLog = !opts.log;
    const logFile = !opts.log && opts.logFile ? new ReopenableFile(opts.logFile) : undefined;
    const log = opts.log ?? createLogger({ level: loaded.config.log.level, stream: logFile ?? opts.logStream });
    const d = new Daemon(opts, log, ownLog);
    d.#logFile = logFile;
    try {
      d.#gen = await d.#build(loaded.config, loaded.hash, 1);
      d.#gen.health.start();
      d.#applySettings(loaded.config);
      d.#server = createProxyListener(d.#handler, opts.listener);
      await listen(d.#server, loaded.config.listen);
      if (loaded.config.admin) d.#admin = await d.#openAdmin(loaded.config);
      d.metrics.lastReloadSuccess.set(Date.now() / 1000);
      if (opts.watch !== false) {
        const w = new ConfigWatcher(d.configPath, { log, debounceMs: opts.watchDebounceMs, pollMs: opts.watchPollMs });
        w.on('candidate', (reason) => void d.reload(`file ${reason}`));
        w.on('missing', () => log.warn(`${d.configPath} is gone; keeping the running config until it comes back`));
        await w.start();
        d.#watcher = w;
        // The file may have changed while the first probes ran: compare once
        // now that every later change is seen (same bytes: nothing happens).
        await d.reload('startup check');
      }
    } catch (err) {
      await d.stop();
      throw err;
    }
    const cfg = loaded.config;
    log.info(`yalb ${VERSION} listening on ${formatListen({ host: cfg.listen.host, port: d.address.port })}, ${cfg.backends.length} backends, strategy ${cfg.strategy}, ${d.#gen.pool.availableCount()} up`);
    return d;
  }

  /** current is the generation new requests use (RouteHolder). */
  get current(): Generation {
    return this.#gen;
  }

  /** address is where the proxy listens (the real port when lb.yaml says 0). */
  get address(): AddressInfo {
    return this.#server?.address() as AddressInfo;
  }

  /** adminAddress is where the admin API listens, if it is on. */
  get adminAddress(): AddressInfo | undefined {
    return (this.#admin?.address() as AddressInfo | null) ?? undefined;
  }

  /** reload re-reads the config file and applies it if it changed and is valid (SIGHUP, file events). */
  reload(trigger = 'api'): Promise<ReloadResult> {
    if (this.#stopping) return Promise.resolve({ ok: false, errors: ['daemon is stopping'] });
    return this.reloader.reload(trigger);
  }

  /** draining tells whether the daemon is stopping (/healthz answers 503). */
  draining(): boolean {
    return this.#stopping;
  }

  /** status is the /status document. */
  status(): unknown {
    const g = this.#gen;
    g.pool.refresh(); // ejections whose time is over show as ended
    return {
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      configFile: this.configPath,
      configHash: g.hash,
      generation: g.number,
      lastReload: this.reloader.lastReload ?? null,
      listen: formatListen({ host: g.config.listen.host, port: this.address?.port ?? g.config.listen.port }),
      strategy: g.config.strategy,
      draining: this.#stopping,
      panic: this.registry.panic,
      inFlight: this.#handler.inFlight,
      retryBudget: { ratio: this.#budget.ratio, retriesInFlight: this.#budget.retriesInFlight, refused: this.#budget.refused },
      backends: g.pool.backends.map((b) => ({
        url: b.url,
        state: b.stateName,
        reason: b.draining ? `drain: true in lb.yaml (health: ${b.state.health}, ${b.state.reason})` : b.state.reason,
        since: new Date(b.state.since).toISOString(),
        weight: b.weight,
        inFlight: b.state.inFlight,
        requests: b.state.requests,
        failures: b.state.failures,
        ejections: b.state.ejections,
        lastProbe: b.state.lastProbe ? { ...b.state.lastProbe, at: new Date(b.state.lastProbe.at).toISOString(), ms: Math.round(b.state.lastProbe.ms) } : null,
      })),
    };
  }

  /**
   * stop stops accepting, drains in-flight requests (bounded by drainMs),
   * then stops health checks, the watcher and the admin API. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stopNow();
    return this.#stopped;
  }

  async #stopNow(): Promise<void> {
    this.#stopping = true;
    await this.#watcher?.stop();
    // A reload already running finishes (or fails) before the teardown.
    await this.reloader.settled();
    if (this.#server) {
      await closeGracefully(this.#server, () => this.#handler.inFlight, this.#opts.drainMs ?? 10_000);
    }
    await Promise.all(this.#closing);
    this.#handler.closeUpgrades();
    this.#gen?.health.stop();
    for (const t of this.#reapers) clearInterval(t);
    if (this.#admin) await closeGracefully(this.#admin, () => 0, 0);
    this.#agents.close();
    await this.#accessLog.close();
    this.log.info('yalb stopped');
    if (this.#ownLog) await closeLogger(this.log);
    const f = this.#logFile;
    if (f) await new Promise<void>((r) => f.end(() => r()));
  }

  /** reopenLogs reopens the log file and the access log file (SIGUSR1, after logrotate moved them). */
  reopenLogs(): void {
    this.#logFile?.reopen();
    this.#accessLog.reopen();
  }

  #describe(cfg: LbConfig, n: number): PoolDescription {
    return {
      generation: n,
      strategy: cfg.strategy,
      hashKey: cfg.hashKey,
      backends: cfg.backends.map((b) => ({ url: b.url, weight: b.weight, drain: b.drain })),
      slowStartMs: cfg.slowStart,
      panicBelow: cfg.healthCheck.panicBelow,
      probe: { rise: cfg.healthCheck.rise, fall: cfg.healthCheck.fall },
      passive: {
        consecutiveFailures: cfg.passive.consecutiveFailures,
        ejectForMs: cfg.passive.ejectFor,
        maxEjectedPercent: cfg.passive.maxEjectedPercent,
      },
    };
  }

  /**
   * #build makes a complete generation without touching the running one:
   * pool (state shared by URL), settings, health scheduler; backends that
   * are new to the registry are probed once first, so a new backend that is
   * down never takes a request.
   */
  async #build(cfg: LbConfig, hash: string, n: number): Promise<Generation> {
    const fresh = new Set(cfg.backends.filter((b) => !this.registry.has(b.url)).map((b) => b.url));
    const pool = new Pool(this.#describe(cfg, n), this.registry, { random: this.#opts.random });
    const health = new HealthScheduler(pool.backends, pool, {
      intervalMs: cfg.healthCheck.interval,
      timeoutMs: cfg.healthCheck.timeout,
      path: cfg.healthCheck.path,
      expectStatus: cfg.healthCheck.expectStatus,
    }, this.log, { random: this.#opts.random });
    await health.probeOnce(pool.backends.filter((b) => fresh.has(b.url)));
    return { number: n, pool, settings: proxySettingsFrom(cfg), config: cfg, hash, health };
  }

  async #openAdmin(cfg: LbConfig): Promise<http.Server | undefined> {
    if (!cfg.admin) return undefined;
    const admin = createAdminServer(this, this.metrics, () => this.#adminAuth);
    await listen(admin, cfg.admin.listen);
    return admin;
  }

  /** #apply builds the next generation and commits it, or throws with the running one untouched. */
  async #apply(cfg: LbConfig, hash: string): Promise<void> {
    if (this.#stopping) throw new Error('daemon is stopping');
    const old = this.#gen;
    let next: Generation | undefined;
    let server: http.Server | undefined;
    let admin: http.Server | undefined;
    this.#building = new Set(cfg.backends.map((b) => b.url));
    try {
      next = await this.#build(cfg, hash, old.number + 1);
      if (!sameAddress(old.config.listen, cfg.listen)) {
        server = createProxyListener(this.#handler, this.#opts.listener);
        await listen(server, cfg.listen).catch((err: unknown) => { throw atKey(err, ['listen']); });
      }
      // A token or allowRemote change alone applies at the commit, on the same listener.
      if (!sameAddress(old.config.admin?.listen, cfg.admin?.listen)) {
        admin = await this.#openAdmin(cfg).catch((err: unknown) => { throw atKey(err, ['admin', 'listen']); });
      }
      if (this.#stopping) throw new Error('daemon is stopping');
    } catch (err) {
      next?.health.stop();
      server?.close();
      admin?.close();
      this.#building = new Set();
      this.registry.retain(new Set(old.pool.backends.map((b) => b.url)));
      throw err;
    }
    this.#building = new Set();
    this.#commit(old, next, server, admin);
  }

  #commit(old: Generation, next: Generation, server: http.Server | undefined, admin: http.Server | undefined): void {
    this.#gen = next; // the swap: requests that start from now on use `next`
    old.health.stop();
    next.health.start();
    if (server) {
      const prev = this.#server;
      this.#server = server;
      if (prev) {
        // The old address stops accepting now; its open exchanges finish (bounded).
        const closing = closeGracefully(prev, () => this.#handler.inFlight, this.#opts.drainMs ?? 10_000);
        this.#closing.add(closing);
        void closing.finally(() => this.#closing.delete(closing));
      }
    }
    const adminChanged = admin !== undefined || (old.config.admin !== undefined && next.config.admin === undefined);
    if (adminChanged) {
      const prev = this.#admin;
      this.#admin = admin;
      prev?.close();
      prev?.closeAllConnections();
    }
    this.#applySettings(next.config);
    this.#reapRemoved();
  }

  /** #applySettings applies the settings that live outside a generation: log level, access log, admin auth, retry budget. */
  #applySettings(cfg: LbConfig): void {
    if (this.#ownLog) this.log.level = cfg.log.level;
    this.#accessLog.configure(cfg.accessLog, this.log);
    this.#adminAuth = { token: cfg.admin?.token, allowRemote: cfg.admin?.allowRemote ?? false };
    this.#budget.ratio = cfg.retry.budget;
  }

  /**
   * #reapRemoved drops the agents and state of backends no generation uses
   * any more, once their in-flight requests have finished (they finish on
   * the generation they started on, with their pooled connections).
   */
  #reapRemoved(): void {
    const sweep = (): boolean => {
      // Keep what the running generation uses and what a reload is building now.
      const keep = new Set([...this.#gen.pool.backends.map((b) => b.url), ...this.#building]);
      let pending = false;
      for (const url of this.#agents.urls()) {
        if (keep.has(url)) continue;
        // The agent's own socket table is the ground truth: a request of an
        // old generation may hold a socket even after the registry forgot
        // the URL. Destroying the agent then would cut that request.
        if (this.#agents.busy(url) || (this.registry.has(url) && this.registry.state(url).inFlight > 0)) pending = true;
        else this.#agents.drop(url);
      }
      this.registry.retain(keep);
      return !pending;
    };
    if (sweep() || this.#reapers.size) return;
    const t = setInterval(() => {
      if (sweep()) {
        clearInterval(t);
        this.#reapers.delete(t);
      }
    }, 100);
    t.unref();
    this.#reapers.add(t);
  }

  #onTransition(t: Transition): void {
    if (t.kind === 'panic') {
      if (t.to === 'panic') this.log.error(`pool: ${t.reason}`);
      else this.log.warn(`pool: ${t.reason}`);
      return;
    }
    const line = `backend ${t.url} ${t.to}: ${t.reason}`;
    if (t.to === 'up' || t.to === 'probation') this.log.info(line);
    else this.log.warn(line);
  }

  #requestEnded(r: RequestRecord): void {
    this.metrics.observeRequest(r.backend, r.status, r.durationMs / 1000);
    this.#accessLog.write(r);
  }
}

/** atKey tags an apply error with the config key it is about, so the reloader can print file:line:col. */
function atKey(err: unknown, key: string[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return Object.assign(e, { configPath: key });
}

/** createDaemon starts a daemon (see Daemon.start). */
export function createDaemon(opts: DaemonOptions): Promise<Daemon> {
  return Daemon.start(opts);
}
