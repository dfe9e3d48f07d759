/**
 * The composition root. Daemon.start() creates the long-lived parts
 * (registry, engines, metrics, retry budget, access log, logger), has the
 * generation lifecycle build generation 1, then wires the request handler,
 * the listeners, the reloader and the watcher, and starts them. It owns
 * what it creates (no module state: two daemons can run in one process) and
 * holds no per-generation logic: build, bind, commit and retire live in
 * reload/generation.ts.
 */
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type AdminOptions, createAdminServer } from '../admin/server.js';
import { Metrics } from '../admin/metrics.js';
import { RequestTally } from '../admin/request-tally.js';
import { readGit, type GitInfo } from '../admin/git.js';
import { ReloadHistory, type HistoryRecord } from '../admin/history.js';
import { type LiveConfigDoc, type OperatorSource, redactToken } from '../admin/operator.js';
import { Sampler, sampleOf, type SeriesSample } from '../admin/series.js';
import { queueDoc, statusDocument, type StatusDocument, sumTraffic, type WorkerReport } from '../admin/status.js';
import { formatListen } from '../config/address.js';
import { configError, loadConfig, positionOf } from '../config/load.js';
import type { LbConfig } from '../config/schema.js';
import { closeLogger, createLogger, type Logger } from '../log/logger.js';
import { ReopenableFile } from '../log/reopenable-file.js';
import { describeTransition } from '../pool/health-state.js';
import type { Pool } from '../pool/pool.js';
import { BackendRegistry } from '../pool/registry.js';
import { Engines } from '../proxy/engine.js';
import { newViaToken, ProxyHandler, RequestIds } from '../proxy/handle-request.js';
import { RetryBudget } from '../proxy/retry-budget.js';
import { createProxyListener } from '../proxy/server.js';
import { type Generation, Generations } from '../reload/generation.js';
import { Reloader, type ReloadResult } from '../reload/reloader.js';
import { type ConfigWatcher, watchConfig } from '../reload/watcher.js';
import type { DaemonOptions } from './options.js';
import { VERSION } from '../version.js';
import { YalbError } from '../errors.js';
import { DEFAULT_TRUST } from '../config/backend-tls.js';
import { checkTls, TlsRuntime } from '../tls/runtime.js';
import { AccessLog } from './access-log.js';
import { tallyObserver } from './request-observer.js';
import { adminTokenOf } from './admin-token.js';
import type { GenerationMessage } from './ipc.js';
import { WorkerSet } from './primary.js';

export type { Generation } from '../reload/generation.js';
export type { DaemonOptions } from './options.js';

/** workerCountOf is how many serving processes a config asks for (`auto`: one per core). */
export function workerCountOf(cfg: LbConfig): number {
  return cfg.workers === 'auto' ? os.availableParallelism() : cfg.workers;
}

/** generationMessage is a committed generation as a worker receives it. */
function generationMessage(g: Generation): GenerationMessage {
  return { t: 'generation', number: g.number, hash: g.hash, config: g.config, states: g.backends.map((b) => b.state.snapshot()) };
}

/** startedLine is the reload history's line for the start: the backends, and the strategy or the pools and routes. */
function startedLine(g: Generation): string {
  const n = g.backends.length;
  const list = `${n} ${n === 1 ? 'backend' : 'backends'} (${g.backends.map((b) => b.url).join(', ')})`;
  if (!g.routes && g.pools.length === 1) return `started: ${list}, strategy ${g.pool.description.strategy}`;
  return `started: ${list} in ${g.pools.length} pools (${g.pools.map((r) => `${r.pool.name}: ${r.pool.description.strategy}`).join(', ')}), ${g.routes?.size ?? 0} routes`;
}

/** poolOf is the pool named `name` when it lists `url`, else the first pool that does (a reload moved it). */
function poolOf(g: Generation, name: string, url: string): Pool | undefined {
  const named = g.poolNamed(name);
  if (named?.backend(url)) return named;
  return g.pools.find((r) => r.pool.backend(url))?.pool;
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
  readonly #logFile: ReopenableFile | undefined;
  readonly #gens: Generations;
  readonly #budget = new RetryBudget(0.2);
  /** #via is this daemon's Via pseudonym (loop detection), shared with its workers. */
  readonly #via = newViaToken();
  readonly #handler: ProxyHandler;
  readonly #accessLog = new AccessLog();
  #adminAuth: AdminOptions = {};
  /** #adminToken: the admin token of the config being applied, resolved (see admin-token.ts). */
  #adminToken: string | undefined;
  #watcher: ConfigWatcher | undefined;
  /** #tls: certificates, their watch and the redirect listener (tls:). */
  #tls: TlsRuntime | undefined;
  /** #workers: the serving processes, when workers: > 1 (this process is then the primary and serves nothing itself). */
  #workers: WorkerSet | undefined;
  /** #reports: the workers' latest reports (collected for /status and /metrics). */
  #reports: WorkerReport[] = [];
  /**
   * #lastReports keeps each live worker's last report (one that misses a
   * collection keeps its last word) and #retired the counts of exited
   * workers: summed counters never go back when a worker is replaced.
   */
  readonly #lastReports = new Map<number, WorkerReport>();
  readonly #retired = new RequestTally();
  #stopping = false;
  #stopped: Promise<void> | undefined;
  readonly #startedAt = Date.now();
  /** #history: the last 50 reloads (GET /api/history); #loaded: when the serving config was applied, and its commit. */
  readonly #history = new ReloadHistory(50);
  #loaded: { hash: string; at: string; git?: GitInfo } = { hash: '', at: new Date().toISOString() };
  /** #sampler: the per-minute series of the dashboard, sampled once a second from counters kept anyway (admin/series.ts). */
  readonly #sampler = new Sampler(() => this.#seriesSample());
  /** operator is what the admin API's dashboard, history, series and config paths read. */
  readonly operator: OperatorSource = {
    history: () => ({ version: this.#history.version, entries: this.#history.list() }),
    series: () => this.#sampler.document(),
    liveConfig: () => this.#liveConfig(),
  };

  private constructor(opts: DaemonOptions, log: Logger, logFile: ReopenableFile | undefined, registry: BackendRegistry, gens: Generations, clustered: boolean) {
    this.#opts = opts;
    this.configPath = path.resolve(opts.configPath);
    this.log = log;
    this.#ownLog = !opts.log;
    this.#logFile = logFile;
    this.registry = registry;
    this.#gens = gens;
    this.metrics = new Metrics({
      backends: () => {
        const summed = this.#workers ? sumTraffic(this.#reports) : undefined;
        // One series per pool and backend (a URL in two pools shows in both, with its one state).
        return gens.current.pools.flatMap((r) => r.pool.backends.map((b) => ({
          pool: r.pool.name, url: b.url, up: b.available, inFlight: summed ? (summed.get(b.url)?.inFlight ?? 0) : b.traffic.inFlight,
          state: b.stateName === 'up' && b.effectiveWeight() < b.weight ? 'slow_start' as const : b.stateName,
        })));
      },
      load: () => (this.#workers
        ? { connections: this.#reports.reduce((n, r) => n + (r.connections ?? 0), 0), inFlight: this.#reports.reduce((n, r) => n + r.inFlight, 0) }
        : { connections: this.#handler.connections, inFlight: this.#handler.inFlight }),
      // (read once while Metrics registers, before the handler exists)
      queue: () => {
        if (!this.#workers) return queueDoc((this.#handler as ProxyHandler | undefined)?.queue ?? { length: 0, full: 0, timedOut: 0 });
        const q = { length: 0, full: 0, timedOut: 0 };
        for (const r of this.#reports) {
          q.length += r.queue.length;
          q.full += r.queue.full;
          q.timedOut += r.queue.timedOut;
        }
        return q;
      },
      info: () => ({ version: VERSION, engine: gens.current.engine.name, configHash: gens.current.hash }),
    }, {
      processMetrics: opts.processMetrics,
      collect: clustered ? () => this.refresh().then(() => this.#reports) : undefined,
      retired: clustered ? () => this.#retired.snapshot() : undefined,
    });
    // A reload may change workers: N → M, but not switch between one process and a primary with workers.
    const target = {
      get current() { return gens.current; },
      apply: (cfg: LbConfig, hash: string) => {
        if ((workerCountOf(cfg) > 1) !== clustered) {
          const err = new Error(`workers: switching between one process and several needs a restart (yalb stop, then yalb start); keeping workers: ${gens.current.config.workers}`);
          return Promise.reject(Object.assign(err, { configPath: ['workers'] }));
        }
        try {
          this.#tls?.vet(cfg);
          this.#adminToken = adminTokenOf(cfg);
        } catch (err) {
          return Promise.reject(err);
        }
        return gens.apply(cfg, hash).then(() => this.#tls?.committed(cfg));
      },
    };
    this.reloader = new Reloader(this.configPath, target, log, { onResult: (ok) => this.metrics.observeReload(ok), onReload: (r) => this.#recordReload(r) });
    this.#handler = new ProxyHandler({
      holder: gens,
      via: this.#via,
      budget: this.#budget,
      log,
      observer: tallyObserver(this.metrics.tally, this.#accessLog),
      requestIds: new RequestIds(),
    });
  }

  /**
   * start loads the config, builds generation 1 (every backend probed once),
   * then opens the listener (so a fresh start never answers 503 for
   * backends that are up), the admin API and the config watcher. Throws a
   * YalbError on a bad config or an address that cannot be bound.
   */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const began = performance.now();
    const loaded = await loadConfig(opts.configPath);
    if (!loaded.ok) throw configError(loaded);
    const cfg = loaded.config;
    let adminToken: string | undefined;
    try {
      const bad = checkTls(cfg)[0];
      if (bad) throw Object.assign(new Error(bad.message), { configPath: bad.path });
      adminToken = adminTokenOf(cfg);
    } catch (err) {
      const e = err as Error & { configPath: string[] };
      const at = positionOf(loaded.text, e.configPath);
      throw new YalbError('YALB_ERR_CONFIG_INVALID', `${path.resolve(opts.configPath)}:${at ? `${at.line}:${at.col}:` : ''} ${e.configPath.join('.')}: ${e.message}`);
    }
    const logFile = !opts.log && opts.logFile ? new ReopenableFile(opts.logFile) : undefined;
    const log = opts.log ?? createLogger({ level: cfg.log.level, stream: logFile ?? opts.logStream });
    const clustered = workerCountOf(cfg) > 1;
    let relay: ((url: string) => void) | undefined;
    let metrics: Metrics | undefined; // (made with the daemon, after the registry)
    const early: Array<[string, boolean]> = [];
    const registry = new BackendRegistry({
      now: opts.now,
      onTransition: (t) => {
        const { level, line, fields } = describeTransition(t);
        log[level](line, fields);
        if (t.kind === 'ejected') metrics?.ejected(t.url);
        relay?.(t.url);
      },
      // The first probe round runs before the metrics exist: held, then counted.
      onProbe: (url, ok) => (metrics ? metrics.probed(url, ok) : early.push([url, ok])),
    });
    let built: Generations | undefined;
    const engines = new Engines(log, () => built?.current.trust ?? DEFAULT_TRUST);
    const gens = await Generations.build(cfg, loaded.hash, { registry, engines, log, random: opts.random });
    built = gens;
    const d = new Daemon(opts, log, logFile, registry, gens, clustered);
    metrics = d.metrics;
    for (const [url, ok] of early.splice(0)) metrics.probed(url, ok);
    d.#adminToken = adminToken;
    try {
      d.#tls = await TlsRuntime.start(cfg, { log, watch: opts.watch, broadcast: clustered ? (b) => d.#workers?.broadcastCerts(b) : undefined });
      d.#tls.registerMetrics(d.metrics.registry);
      if (clustered) {
        const workers = d.#startWorkers(workerCountOf(cfg));
        relay = (url) => {
          const b = d.#gens.current.backend(url);
          if (b) workers.broadcastStates([b.state.snapshot()]);
        };
        await workers.start();
      }
      await gens.open({
        proxy: () => {
          const workers = d.#workers;
          // With workers, this process accepts and hands each connection to a worker (daemon/primary.ts).
          return workers ? net.createServer({ pauseOnConnect: true }, (s) => workers.dispatch(s)) : createProxyListener(d.#handler, opts.listener, () => d.#gens.current.config.limits.maxConnections || undefined, d.#tls?.contexts); // 0 = no limit
        },
        admin: () => createAdminServer(d, d.metrics, () => d.#adminAuth),
        inFlight: () => d.#handler.inFlight,
        drainMs: opts.drainMs ?? 10_000,
        committed: (g) => d.#applySettings(g),
      });
      // The HTTPS port as last seen: once a stop closes the listener, address() is null while the
      // redirect listener still answers (it closes after the drain).
      let httpsPort = d.address.port;
      await d.#tls.openRedirect(cfg, d.#handler, () => {
        const a = d.#gens.address as AddressInfo | null | undefined;
        if (a) httpsPort = a.port;
        return httpsPort;
      });
      d.metrics.lastReloadSuccess.set(Date.now() / 1000);
      d.#recordReload({
        trigger: 'start', at: new Date().toISOString(), result: 'applied', durationMs: Math.round((performance.now() - began) * 10) / 10, hash: loaded.hash,
        changes: [startedLine(gens.current)],
        errors: [],
      });
      d.#sampler.start();
      if (opts.watch !== false) {
        d.#watcher = watchConfig(d.configPath, (trigger) => void d.reload(trigger), log, { debounceMs: opts.watchDebounceMs, pollMs: opts.watchPollMs });
        await d.#watcher.start();
        // The file may have changed while the first probes ran: compare once
        // now that every later change is seen (same bytes: nothing happens).
        await d.reload('startup check');
      }
    } catch (err) {
      await d.stop();
      throw err;
    }
    const serving = d.#workers ? `, ${d.#workers.size} workers` : '';
    const g = gens.current;
    const up = g.backends.reduce((n, b) => (b.available ? n + 1 : n), 0);
    const what = g.routes ? `${g.pools.length} pools, ${g.routes.size} routes, ${g.backends.length} backends` : `${g.backends.length} backends, strategy ${g.pool.description.strategy}`;
    const listen = formatListen({ host: cfg.listen.host, port: d.address.port });
    log.info(`yalb ${VERSION} listening on ${listen}, ${what}, ${up} up${serving}`, {
      version: VERSION, listen, file: d.configPath, generation: g.number, hash: g.hash, engine: g.engine.name,
      ...(d.#workers ? { workers: d.#workers.size } : {}),
    });
    return d;
  }

  /** #startWorkers creates the worker set of a primary: fed with generations, its passive results applied here. */
  #startWorkers(count: number): WorkerSet {
    const gens = this.#gens;
    // A passive result may change what workers must know without a transition (a failure count starting or ending, probation ending).
    const relayIfChanged = (url: string, fn: () => void) => {
      const b = gens.current.backend(url);
      if (!b) return;
      const before = `${b.state.consecutiveFailures > 0} ${b.state.ejections} ${b.state.health} ${b.state.ejectedUntil}`;
      fn();
      if (`${b.state.consecutiveFailures > 0} ${b.state.ejections} ${b.state.health} ${b.state.ejectedUntil}` !== before) this.#workers?.broadcastStates([b.state.snapshot()]);
    };
    this.#workers = new WorkerSet({
      count,
      exited: (id) => this.#workerExited(id),
      via: this.#via,
      log: this.log,
      listener: this.#opts.listener,
      generation: () => generationMessage(gens.current),
      certs: () => this.#tls?.bundle(),
      // The worker's pool decides whose passive rules apply; a pool gone since (a reload) hands over to any pool of the URL.
      outcome: (url, ok, reason, pool) => relayIfChanged(url, () => {
        const p = poolOf(gens.current, pool, url);
        const b = p?.backend(url);
        if (b) p?.reportOutcome(b, ok, reason);
      }),
      markDown: (url, reason, pool) => relayIfChanged(url, () => {
        const p = poolOf(gens.current, pool, url);
        const b = p?.backend(url);
        if (b) p?.markDown(b, reason);
      }),
    });
    return this.#workers;
  }

  /** refresh collects the workers' reports (before /status and /metrics); nothing to do with one process. */
  async refresh(): Promise<void> {
    if (!this.#workers) return;
    for (const r of await this.#workers.collect()) this.#lastReports.set(r.id, r);
    this.#reports = [...this.#lastReports.values()].sort((a, b) => a.id - b.id);
  }

  /** #workerExited folds an exited worker's last counts into the retired total. */
  #workerExited(id: number): void {
    const last = this.#lastReports.get(id);
    if (!last) return;
    this.#retired.add(last.tally);
    this.#retired.retain(this.#gens.current.backends.map((b) => b.url)); // every pool's backends
    this.#lastReports.delete(id);
  }

  /** current is the generation new requests use. */
  get current(): Generation {
    return this.#gens.current;
  }

  /** address is where the proxy listens (the real port when lb.yaml says 0). */
  get address(): AddressInfo {
    return this.#gens.address as AddressInfo;
  }

  /** adminAddress is where the admin API listens, if it is on. */
  get adminAddress(): AddressInfo | undefined {
    return this.#gens.adminAddress;
  }

  /** reload re-reads the config file and applies it if it changed and is valid (SIGHUP, file events). */
  reload(trigger = 'api'): Promise<ReloadResult> {
    if (this.#stopping) return Promise.resolve({ ok: false, errors: ['daemon is stopping'] });
    if (!trigger.startsWith('file')) this.#tls?.reloadCertificates(); // SIGHUP re-reads the certificates too
    return this.reloader.reload(trigger);
  }

  /** draining tells whether the daemon is stopping (/healthz answers 503). */
  draining(): boolean {
    return this.#stopping;
  }

  /** status is the /status document. */
  status(): StatusDocument {
    const g = this.#gens.current;
    const doc = statusDocument({
      version: VERSION,
      pid: process.pid,
      startedAt: this.#startedAt,
      now: Date.now(),
      configFile: this.configPath,
      configHash: g.hash,
      configLoadedAt: this.#loaded.at,
      configGit: this.#loaded.git,
      generation: g.number,
      lastReload: this.reloader.lastReload,
      listen: formatListen({ host: g.config.listen.host, port: this.address?.port ?? g.config.listen.port }),
      // Several pools: each has its own in `pools`; the top level says the top-level default.
      strategy: g.pools.length > 1 ? g.config.strategy : g.pool.description.strategy,
      engine: g.engine.name,
      draining: this.#stopping,
      inFlight: this.#workers ? this.#reports.reduce((n, r) => n + r.inFlight, 0) : this.#handler.inFlight,
      retryBudget: { ratio: this.#budget.ratio, retriesInFlight: this.#budget.retriesInFlight, refused: this.#budget.refused },
      pool: g.pool,
      pools: g.pools.map((r) => r.pool),
      backends: g.backends,
      routes: (g.config.routes ?? []).map((r) => ({ match: r.match ?? null, pool: r.pool })),
      clustered: this.#workers !== undefined,
      queueSize: g.config.queue.size,
      workers: this.#workers ? this.#reports : [{
        id: 0, pid: process.pid, startedAt: this.#startedAt, requests: this.#handler.served, inFlight: this.#handler.inFlight,
        generation: g.number, queue: queueDoc(this.#handler.queue), tally: { requests: [], durations: [], retries: [] }, traffic: [], connections: this.#handler.connections,
      }],
    });
    return { ...doc, certificates: this.#tls?.status() ?? [] };
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
    this.#stopping = true; // /healthz answers 503 from now on
    this.#sampler.stop();
    await this.#watcher?.stop();
    // shutdown.delay: keep accepting while whoever routes here (a Kubernetes
    // Service, an outer load balancer) sees /healthz fail and stops sending
    // (Traefik's requestAcceptGraceTimeout). A second SIGTERM exits at once.
    const delay = this.#gens.current.config.shutdown.delay;
    if (delay > 0) {
      this.log.info(`shutdown.delay: accepting for ${delay} ms more (healthz 503), then draining`);
      await new Promise((r) => setTimeout(r, delay));
    }
    // Stop accepting; a reload in progress is cut short (its first
    // probes aborted, never committed) and settles before the teardown.
    const draining = this.#gens.drain();
    await this.reloader.settled();
    await draining;
    await this.#tls?.stop();
    await this.#workers?.stop(this.#opts.drainMs ?? 10_000);
    this.#handler.closeUpgrades();
    await this.#gens.close();
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
    this.#workers?.reopen();
  }

  /** #applySettings applies the settings that live outside a generation: log level, access log, admin auth, retry budget. */
  #applySettings(g: Generation): void {
    const cfg = g.config;
    const workers = this.#workers;
    if (workers) {
      workers.broadcastGeneration(generationMessage(g));
      const n = workerCountOf(cfg);
      if (n !== workers.size) {
        workers.resize(n, this.#opts.drainMs ?? 10_000).catch((err: Error) => this.log.error(`workers: ${err.message}`));
      }
    }
    if (this.#ownLog) this.log.level = cfg.log.level;
    // Removed backends' series leave /metrics at the commit (and their counts the memory).
    // Every pool's backends (g.backends: one per URL), not only the first pool's.
    const urls = g.backends.map((b) => b.url);
    const pools = g.pools.map((r) => r.pool.name);
    this.metrics.retain(urls, pools);
    this.#retired.retain(urls);
    this.#retired.retainPools(pools);
    this.#accessLog.configure(cfg.accessLog, this.log);
    this.#adminAuth = { token: this.#adminToken, allowRemote: cfg.admin?.allowRemote ?? false };
    this.#budget.ratio = cfg.retry.budget;
  }

  /**
   * #recordReload adds a reload to the history at once; git runs after it
   * (bounded, admin/git.ts) and fills the entry's commit in when it answers,
   * and /status's configGit when the entry is the serving config.
   */
  #recordReload(r: HistoryRecord): void {
    const entry = this.#history.record(r);
    if (r.result === 'applied' && r.hash) this.#loaded = { hash: r.hash, at: r.at };
    const loaded = this.#loaded;
    void readGit(this.configPath).then((git) => {
      if (!git) return;
      this.#history.setGit(entry.id, git);
      if (r.result !== 'failed' && r.hash === loaded.hash) loaded.git = git;
    });
  }

  /** #seriesSample reads the counters the series are made of (with workers, their latest reports); nothing without an admin API to show them. */
  async #seriesSample(): Promise<SeriesSample> {
    const g = this.#gens.current;
    if (!g.config.admin) throw new Error('no admin API');
    await this.refresh();
    const summed = this.#workers ? sumTraffic(this.#reports) : undefined;
    const tallies = this.#workers ? [this.metrics.snapshot(), this.#retired.snapshot(), ...this.#reports.map((r) => r.tally)] : [this.metrics.snapshot()];
    return sampleOf(Date.now(), tallies, g.backends.map((b) => {
      const t = summed ? (summed.get(b.url) ?? { inFlight: 0, requests: 0, failures: 0 }) : b.traffic;
      return { url: b.url, requests: t.requests, failures: t.failures, inFlight: t.inFlight };
    }));
  }

  #liveConfig(): LiveConfigDoc {
    const g = this.#gens.current;
    const git = this.#loaded.hash === g.hash ? this.#loaded.git : undefined;
    return { file: this.configPath, hash: g.hash, loadedAt: this.#loaded.at, ...(git ? { git } : {}), config: redactToken(g.config) };
  }
}

/** createDaemon starts a daemon (see Daemon.start). */
export function createDaemon(opts: DaemonOptions): Promise<Daemon> {
  return Daemon.start(opts);
}
