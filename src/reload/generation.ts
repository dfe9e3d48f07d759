/**
 * The generation lifecycle, in one room: build → probe new backends → bind
 * listeners → commit or roll back → retire the old generation (Caddy's
 * "provision the new config fully, swap, then stop the old one"). A
 * Generations object holds the generation that serves (`current`, changed
 * by one assignment in #commit) and the listeners; the reloader drives
 * apply(), the daemon only starts and stops it and never re-enters it.
 *
 * A build touches nothing that serves: its pool shares backend state by URL
 * through the registry (a kept backend keeps its health and counters), its
 * engine is shared with every generation that names the same one (a kept
 * backend keeps its pooled connections), and it does not report panic mode
 * until it is committed. What the committed generation no longer lists is
 * forgotten by registry.retain() and engines.retain(), each once the
 * backend's last in-flight attempt has ended.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/address.js';
import { resolvePools, type ResolvedPool } from '../config/pools.js';
import { type BackendTrust, loadBackendTrust } from '../config/backend-tls.js';
import type { LbConfig } from '../config/schema.js';
import { HealthScheduler, healthSettingsFrom } from '../health/scheduler.js';
import type { Logger } from '../log/logger.js';
import type { Backend } from '../pool/backend.js';
import { Pool, type PoolDescription, type PoolOptions } from '../pool/pool.js';
import type { BackendRegistry } from '../pool/registry.js';
import type { Engine, Engines } from '../proxy/engine.js';
import { closeGracefully, listen } from '../proxy/server.js';
import { engineNameOf, proxySettingsFrom, type Route, type Served } from '../proxy/settings.js';
import { RouteMatcher } from '../routes/matcher.js';

/**
 * ServedPools is what serves one config: every pool as a route (pools: and
 * the top-level backends:, in order), the compiled routes, and the first
 * pool as the generation's own route (the only one without routes:). Built
 * the same way by one process and by every cluster worker.
 */
export interface ServedPools extends Served {
  /** pools: every pool's route, in lb.yaml order ("default" first when top-level backends: is given). */
  readonly pools: readonly Route[];
  /** backends: every distinct backend, one per URL (the first pool's object: state and traffic are by URL anyway). */
  readonly backends: readonly Backend[];
  /** backend finds a backend by URL in any pool. */
  backend(url: string): Backend | undefined;
  /** poolNamed finds a pool by name. */
  poolNamed(name: string): Pool | undefined;
}

/** Generation is one applied config: its pools and routes, its probes and its source. */
export interface Generation extends ServedPools {
  readonly number: number;
  /** trust: tls.backend with its CA read (https:// backends' checks, for the probes and the engines). */
  readonly trust: BackendTrust;
  readonly config: LbConfig;
  readonly hash: string;
  readonly health: ProbeGroup;
}

/**
 * servedPools builds the pools and routes of a config on a registry (state
 * shared by URL) and an engine (connections shared by URL): one Pool per
 * pool, each with its own strategy and settings.
 */
export function servedPools(cfg: LbConfig, n: number, registry: BackendRegistry, engine: Engine, opts: PoolOptions = {}): ServedPools {
  const resolved = resolvePools(cfg);
  const pools: Route[] = resolved.map((p) => ({
    pool: new Pool(poolDescriptionOf(p, n, p.name), registry, opts),
    settings: proxySettingsFrom(cfg, p),
    engine,
  }));
  const byName = new Map(pools.map((r) => [r.pool.name, r]));
  const routes = cfg.routes
    ? new RouteMatcher(cfg.routes.map((r) => ({ ...r.match, target: byName.get(r.pool) as Route })))
    : undefined;
  const first = pools[0] as Route;
  const common = { pool: first.pool, settings: first.settings, engine, routes, pools, poolNamed: (name: string) => byName.get(name)?.pool };
  // One pool (the usual config): its own list and index, no copy of 10,000 URLs per reload.
  if (pools.length === 1) return { ...common, backends: first.pool.backends, backend: (url) => first.pool.backend(url) };
  const byUrl = new Map<string, Backend>();
  for (const r of pools) for (const b of r.pool.backends) if (!byUrl.has(b.url)) byUrl.set(b.url, b);
  return { ...common, backends: [...byUrl.values()], backend: (url) => byUrl.get(url) };
}

/**
 * ProbeGroup runs the probes of a generation: one HealthScheduler per pool
 * (its healthCheck settings), each backend URL probed by the first pool that
 * lists it only (validation makes every pool of a URL probe it alike: one
 * URL, one health state).
 */
export class ProbeGroup {
  readonly #schedulers: Array<{ health: HealthScheduler; backends: readonly Backend[] }>;

  constructor(schedulers: Array<{ health: HealthScheduler; backends: readonly Backend[] }>) {
    this.#schedulers = schedulers;
  }

  /** probeOnce probes the backends whose URL is in `urls`, once, and resolves when each has answered. */
  async probeOnce(urls: ReadonlySet<string>): Promise<void> {
    await Promise.all(this.#schedulers.map((s) => s.health.probeOnce(s.backends.filter((b) => urls.has(b.url)))));
  }

  /** start schedules the periodic probes of every pool. */
  start(): void {
    for (const s of this.#schedulers) s.health.start();
  }

  /** stop aborts every probe and timer. */
  stop(): void {
    for (const s of this.#schedulers) s.health.stop();
  }
}

/** GenerationDeps are the long-lived parts every generation is built on (owned by the daemon, passed in). */
export interface GenerationDeps {
  registry: BackendRegistry;
  engines: Engines;
  log: Logger;
  random?: (() => number) | undefined;
}

/** ListenerFactories make the daemon's listeners, unbound; the lifecycle binds, swaps and retires them. */
export interface ListenerFactories {
  /** proxy: the HTTP listener, or with workers the primary's net.Server that hands connections on. */
  proxy(): net.Server;
  admin(): http.Server;
  /** inFlight counts exchanges on the proxy listeners (for the drain of a retired one). */
  inFlight(): number;
  drainMs: number;
  /** committed hears every committed generation (settings that live outside a generation). */
  committed(next: Generation): void;
}

/** poolDescriptionOf is the plain, serialisable description a generation's pool is built from (a whole config, or one of its pools). */
export function poolDescriptionOf(cfg: Omit<ResolvedPool, 'name' | 'path' | 'sticky' | 'retry' | 'timeouts'>, n: number, name?: string): PoolDescription {
  return {
    generation: n,
    name,
    strategy: cfg.strategy,
    hashKey: cfg.hashKey,
    backends: cfg.backends.map((b) => ({ url: b.url, weight: b.weight, drain: b.drain, maxConnections: b.maxConnections || undefined })), // maxConnections 0 = no limit
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

function sameAddress(a: ListenAddress | undefined, b: ListenAddress | undefined): boolean {
  if (!a || !b) return a === b;
  return a.host === b.host && a.port === b.port;
}

/** atKey tags an error with the config key it is about, so the reloader can print file:line:col. */
function atKey(err: unknown, key: string[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return Object.assign(e, { configPath: key });
}

/** Generations owns the serving generation, its successors and the listeners they serve on. */
export class Generations {
  readonly #deps: GenerationDeps;
  #gen: Generation;
  #listeners: ListenerFactories | undefined;
  #server: net.Server | undefined;
  #admin: http.Server | undefined;
  /** #closing tracks listeners replaced by a reload that are still draining; drain() waits for them. */
  readonly #closing = new Set<Promise<void>>();
  #stopping = false;
  /** #building is the probes of a generation being built (drain() stops them: a stop never waits for a slow first probe). */
  #building: ProbeGroup | undefined;

  private constructor(deps: GenerationDeps, first: Generation) {
    this.#deps = deps;
    this.#gen = first;
  }

  /**
   * build makes generation 1 and probes every backend once, so a fresh start
   * never answers 503 for backends that are up; nothing listens yet (open()).
   */
  static async build(cfg: LbConfig, hash: string, deps: GenerationDeps): Promise<Generations> {
    const g = new Generations(deps, await buildGeneration(deps, cfg, hash, 1));
    for (const r of g.#gen.pools) r.pool.serve();
    return g;
  }

  /** current is the generation new requests use. */
  get current(): Generation {
    return this.#gen;
  }

  /** address is where the proxy listens (the real port when lb.yaml says 0). */
  get address(): AddressInfo | undefined {
    return (this.#server?.address() as AddressInfo | null) ?? undefined;
  }

  /** adminAddress is where the admin API listens, if it is on. */
  get adminAddress(): AddressInfo | undefined {
    return (this.#admin?.address() as AddressInfo | null) ?? undefined;
  }

  /**
   * open starts generation 1's periodic probes and settings, then binds its
   * listeners. Throws YALB_ERR_LISTEN (and closes what it opened) when an
   * address cannot be bound.
   */
  async open(listeners: ListenerFactories): Promise<void> {
    this.#listeners = listeners;
    const cfg = this.#gen.config;
    this.#gen.health.start();
    listeners.committed(this.#gen);
    try {
      this.#server = listeners.proxy();
      await listen(this.#server, cfg.listen);
      if (cfg.admin) {
        this.#admin = listeners.admin();
        await listen(this.#admin, cfg.admin.listen);
      }
    } catch (err) {
      this.#server?.close();
      this.#admin?.close();
      throw err;
    }
  }

  /**
   * apply builds the generation for `cfg`, binds any listener whose address
   * changed, and commits it; or throws with the running generation
   * untouched (an error about a key carries `configPath`).
   */
  async apply(cfg: LbConfig, hash: string): Promise<void> {
    const listeners = this.#listeners;
    if (this.#stopping || !listeners) throw new Error('daemon is stopping');
    const old = this.#gen;
    let next: Generation | undefined;
    let server: net.Server | undefined;
    let admin: http.Server | undefined;
    try {
      next = await buildGeneration(this.#deps, cfg, hash, old.number + 1, (h) => { this.#building = h; });
      this.#building = undefined;
      if (!sameAddress(old.config.listen, cfg.listen)) {
        server = listeners.proxy();
        await listen(server, cfg.listen).catch((err: unknown) => { throw atKey(err, ['listen']); });
      }
      // A token or allowRemote change alone applies at the commit, on the same listener.
      if (cfg.admin && !sameAddress(old.config.admin?.listen, cfg.admin.listen)) {
        admin = listeners.admin();
        await listen(admin, cfg.admin.listen).catch((err: unknown) => { throw atKey(err, ['admin', 'listen']); });
      }
      if (this.#stopping) throw new Error('daemon is stopping');
    } catch (err) {
      this.#building?.stop();
      this.#building = undefined;
      next?.health.stop();
      server?.close();
      admin?.close();
      // Forget the state the failed build created for backends that stay unknown.
      this.#deps.registry.retain(old.backends.map((b) => b.url));
      throw err;
    }
    this.#commit(old, next, server, admin, listeners);
  }

  #commit(old: Generation, next: Generation, server: net.Server | undefined, admin: http.Server | undefined, listeners: ListenerFactories): void {
    this.#gen = next; // the swap: requests that start from now on use `next`
    // Each pool takes over the panic state of the pool of the same name.
    for (const r of next.pools) r.pool.serve(old.poolNamed(r.pool.name));
    old.health.stop();
    next.health.start();
    if (server) {
      const prev = this.#server;
      this.#server = server;
      if (prev) this.#retire(prev, listeners);
    }
    if (admin || (old.config.admin && !next.config.admin)) {
      const prev = this.#admin;
      this.#admin = admin;
      prev?.close();
      prev?.closeAllConnections();
    }
    const urls = next.backends.map((b) => b.url);
    this.#deps.registry.retain(urls);
    this.#deps.engines.retain(urls);
    listeners.committed(next);
  }

  /** #retire stops a replaced listener accepting; its open exchanges finish (bounded by drainMs). */
  #retire(server: net.Server, listeners: ListenerFactories): void {
    const closing = closeGracefully(server, listeners.inFlight, listeners.drainMs);
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  /**
   * drain refuses further applies, stops accepting and lets in-flight
   * exchanges finish (bounded by drainMs), on the current listener and on
   * any a reload replaced.
   */
  async drain(): Promise<void> {
    this.#stopping = true;
    this.#building?.stop(); // a reload in progress ends at once, uncommitted
    const listeners = this.#listeners;
    if (this.#server && listeners) await closeGracefully(this.#server, listeners.inFlight, listeners.drainMs);
    await Promise.all(this.#closing);
  }

  /** close stops the probes, the admin API and every engine's connections (after drain()). */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#gen.health.stop();
    const admin = this.#admin;
    if (admin) await closeGracefully(admin, () => 0, 0);
    this.#deps.engines.close();
  }
}

/**
 * buildGeneration makes a complete generation without touching the running
 * one: pool (state shared by URL), settings, engine, health scheduler.
 * Backends new to the registry are probed once first, so a new backend that
 * is down never takes a request.
 */
async function buildGeneration(
  deps: GenerationDeps, cfg: LbConfig, hash: string, n: number, probing?: (h: ProbeGroup) => void,
): Promise<Generation> {
  const trust = loadBackendTrust(cfg.tls?.backend); // throws with configPath: nothing built yet
  // Before the pools ask the registry for state: what it has not seen yet is new.
  const resolved = resolvePools(cfg);
  const fresh = new Set<string>();
  for (const p of resolved) for (const b of p.backends) if (!deps.registry.has(b.url)) fresh.add(b.url);
  const served = servedPools(cfg, n, deps.registry, deps.engines.get(engineNameOf(cfg)), { random: deps.random });
  const probed = new Set<string>();
  const schedulers = served.pools.map((r, i) => {
    const backends = r.pool.backends.filter((b) => !probed.has(b.url));
    for (const b of backends) probed.add(b.url);
    return { health: new HealthScheduler(backends, r.pool, { ...healthSettingsFrom(resolved[i] as ResolvedPool), trust }, deps.log, { random: deps.random }), backends };
  });
  const health = new ProbeGroup(schedulers);
  probing?.(health);
  await health.probeOnce(fresh);
  return { ...served, number: n, config: cfg, trust, hash, health };
}
