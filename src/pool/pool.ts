/**
 * Pool: one generation of the backend pool, built from a plain, serialisable
 * PoolDescription plus the shared BackendRegistry. A request reads the
 * current pool once and finishes on it, however many reloads happen
 * meanwhile. The pool is the one writer of backend state: probes report
 * through the HealthSink methods, live traffic through begin() / end(). Its
 * only mutable fields of its own are `serving` and `panic`, set by serve()
 * when the generation is committed: a pool being built reports probes but
 * never flips or logs panic mode. (Its strategy's index and its count of
 * healthy backends are caches, kept up to date from the registry's
 * StateJournal.)
 */
import type { HashKey, StrategyName } from '../config/schema.js';
import { Backend, type BackendSpec } from './backend.js';
import {
  applyOutcome, applyProbe, PANIC_URL, type PassiveRules, type ProbeRules,
} from './health-state.js';
import type { BackendRegistry } from './registry.js';
import { findSticky, stickyIndex } from './sticky.js';
import { EligibleSet } from './strategies/eligible-set.js';
import { createStrategy } from './strategies/index.js';
import type { PickContext, Strategy } from './strategies/strategy.js';

/** PoolDescription is everything a generation is built from; plain data (could cross a process boundary). */
export interface PoolDescription {
  generation: number;
  /** name: the pool's name in lb.yaml ("default" for a top-level backends:; routes, issue 15). */
  name?: string | undefined;
  strategy: StrategyName;
  hashKey?: HashKey | undefined;
  backends: BackendSpec[];
  slowStartMs: number;
  /** panicBelow: fraction 0..1; below this share of backends healthy, route to all. */
  panicBelow: number;
  probe: ProbeRules;
  passive: PassiveRules & { maxEjectedPercent: number };
}

/** HealthSink is the narrow interface probes and the proxy report results through. */
export interface HealthSink {
  reportProbe(backend: Backend, ok: boolean, reason: string, ms?: number): void;
  reportOutcome(backend: Backend, ok: boolean, reason: string): void;
}

/**
 * AttemptVerdict is how one attempt ended, as backend state sees it: `ok`
 * (an answer below 500, complete), `failed` (the backend's fault: connect,
 * reset, timeout, 5xx or a cut response) or `aborted` (the client went away:
 * never held against the backend).
 */
export type AttemptVerdict = 'ok' | 'failed' | 'aborted';

/**
 * PassiveUpstream is where a cluster worker's pool sends what live traffic
 * saw, instead of deciding itself: the primary decides ejections with the
 * counts of every worker and broadcasts the state (BackendRegistry.mirror).
 */
export interface PassiveUpstream {
  /** outcome: one attempt's verdict for passive checks (never a client abort), in pool `pool` (its passive rules). */
  outcome(url: string, ok: boolean, reason: string, pool: string): void;
  /** markDown: this worker took a backend down after its same-backend retries failed. */
  markDown(url: string, reason: string, pool: string): void;
}

/** PoolOptions inject randomness for strategies that need it (tests pass a seeded one). */
export interface PoolOptions {
  random?: () => number;
  /** upstream: set in a cluster worker; passive results go there instead of being decided here. */
  upstream?: PassiveUpstream | undefined;
}

/** Pool is one generation: backends + strategy; select() picks, the HealthSink methods record results. */
export class Pool implements HealthSink {
  readonly description: PoolDescription;
  readonly backends: readonly Backend[];
  readonly registry: BackendRegistry;
  readonly #strategy: Strategy;
  readonly #byUrl: Map<string, Backend>;
  /**
   * #healthy is the set of healthy, non-draining backends, kept from the
   * registry's journal (O(1) per pick when nothing changed), and #total the
   * number of non-draining ones: panic mode's share, without a scan per pick.
   */
  readonly #healthy: EligibleSet;
  readonly #total: number;
  #stickyIndex: ReadonlyMap<string, Backend> | undefined;
  /** #capped: some backend has maxConnections (else select() never checks fullness). */
  readonly #capped: boolean;
  /** saturated: the last select() found no backend only because every eligible one was full. */
  saturated = false;
  readonly #upstream: PassiveUpstream | undefined;
  #serving = false;
  #panic = false;

  constructor(description: PoolDescription, registry: BackendRegistry, opts: PoolOptions = {}) {
    this.description = description;
    this.registry = registry;
    const now = registry.now;
    this.backends = description.backends.map(
      (spec) => new Backend(spec, registry.state(spec.url), registry.traffic(spec.url), { now, slowStartMs: description.slowStartMs }),
    );
    this.#byUrl = new Map(this.backends.map((b) => [b.url, b]));
    const journal = registry.journal;
    this.#strategy = createStrategy(description.strategy).create(this.backends, { random: opts.random ?? Math.random, journal });
    this.#healthy = new EligibleSet(this.backends, journal);
    this.#total = this.backends.reduce((n, b) => (b.draining ? n : n + 1), 0);
    this.#upstream = opts.upstream;
    this.#capped = description.backends.some((b) => b.maxConnections !== undefined);
  }

  /** serving tells whether this generation is the one new requests use (set by serve()). */
  get serving(): boolean {
    return this.#serving;
  }

  /** panic is whether panic mode is in force, as last reported (only the serving generation changes it). */
  get panic(): boolean {
    return this.#panic;
  }

  /**
   * serve makes this generation the serving one, at the commit of a reload:
   * it takes over the panic state of `previous` (which stops reporting), so
   * a reload that keeps the pool in panic does not log its start again, and
   * one that ends it logs the end once.
   */
  serve(previous?: Pool): void {
    if (previous) {
      this.#panic = previous.#panic;
      previous.#serving = false;
    }
    this.#serving = true;
    this.#refresh();
  }

  /** begin records that an attempt on `b` starts (the only writer of in-flight and request counts). */
  begin(b: Backend): void {
    b.traffic.inFlight++;
    b.traffic.requests++;
    this.#strategy.onLoadChange?.(b);
  }

  /**
   * end records how an attempt on `b` ended: failures count, and passive
   * health checks (outlier ejection), when on, hear every verdict but
   * `aborted`. `reason` names a failure (unused for `ok`).
   */
  end(b: Backend, verdict: AttemptVerdict, reason: string): void {
    const t = b.traffic;
    t.inFlight--;
    this.#strategy.onLoadChange?.(b);
    if (verdict === 'failed') t.failures++;
    // Passive checks off: skip the report and the refresh it costs.
    if (verdict !== 'aborted' && this.description.passive.consecutiveFailures > 0) {
      const up = this.#upstream;
      if (!up) this.reportOutcome(b, verdict === 'ok', reason);
      // A worker sends every failure, and a success only while the primary
      // counts failures or probation for the backend (its state, mirrored
      // here, says so): one IPC message per failure, none per healthy request.
      else if (verdict === 'failed' || b.state.consecutiveFailures > 0 || b.state.ejections > 0) up.outcome(b.url, verdict === 'ok', reason, this.name);
    }
    if (t.inFlight === 0) this.registry.released(b.url);
  }

  /** name is the pool's name in lb.yaml ("default" for a top-level backends:). */
  get name(): string {
    return this.description.name ?? 'default';
  }

  /** generation numbers the pool; it grows by one per applied reload. */
  get generation(): number {
    return this.description.generation;
  }

  /** backend returns this generation's backend for a URL. */
  backend(url: string): Backend | undefined {
    return this.#byUrl.get(url);
  }
  /**
   * sticky returns the backend a sticky cookie id names, when it may take
   * this request (eligible, or unhealthy but not draining in panic mode).
   * The id → backend index is built on first use, once per generation.
   */
  sticky(id: string, tried: ReadonlySet<Backend>): Backend | undefined {
    this.#stickyIndex ??= stickyIndex(this.backends);
    const b = findSticky(this.#stickyIndex, id, { tried, panic: this.panicking() });
    // A full backend (maxConnections) breaks stickiness for this request (HAProxy's redispatch).
    return b?.full ? undefined : b;
  }


  /**
   * select picks a backend for a request that has already tried `tried`, or
   * undefined when none is eligible. In panic mode (too few healthy backends,
   * healthCheck.panicBelow) unhealthy backends are eligible too.
   */
  select(tried: ReadonlySet<Backend>, key?: string): Backend | undefined {
    const ctx: PickContext = { tried, key, panic: this.#refresh() };
    const b = this.#strategy.select(ctx);
    this.saturated = false;
    if (!this.#capped || !b?.full) return b;
    // A full backend (maxConnections) is skipped: pick again as if it had
    // been tried, until one has room or none is left (then saturated).
    const skip = new Set(tried);
    for (let next: Backend | undefined = b; next; next = this.#strategy.select(ctx)) {
      if (!next.full) return next;
      skip.add(next);
      ctx.tried = skip;
    }
    this.saturated = true;
    return undefined;
  }

  /**
   * refresh brings time-driven state up to date and logs it once: ejections
   * whose time is over end (the backend returns on probation), and panic
   * mode starts or ends. The pool has no timers, so this runs on every pick
   * and every reported result; the daemon may also call it before showing
   * /status. O(1) when no ejection is due and no state changed since the
   * last call; O(n) when an ejection is due (registry.nextEjectionEnd),
   * O(k) after k journaled state changes.
   */
  refresh(): void {
    this.#refresh();
  }

  /** #refresh is refresh() returning whether the pool panics now. */
  #refresh(): boolean {
    const registry = this.registry;
    const now = registry.now();
    // Over the registry's every state, not this pool's: a backend may be in
    // several pools (routes), and nextEjectionEnd is theirs in common.
    if (now >= registry.nextEjectionEnd) registry.endEjections(now);
    return this.#checkPanic();
  }

  /**
   * #checkPanic logs the start and the end of panic mode, once each. Only
   * the serving generation does this: an older one, still finishing a
   * request, must not flip the flag back with its old settings, and one
   * being built must not announce panic during its first probe round.
   */
  #checkPanic(): boolean {
    const panic = this.panicking();
    const registry = this.registry;
    if (!this.#serving || panic === this.#panic) return panic;
    this.#panic = panic;
    const { healthy, total } = this.#healthyCount();
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    const share = `${healthy} of ${total} backends healthy`;
    const reason = panic
      ? `PANIC MODE ON: ${share} (${pct(total ? healthy / total : 0)}, below panicBelow ${pct(this.description.panicBelow)}); routing to all ${total} non-draining backends, healthy or not`
      : `panic mode off: ${share} (panicBelow ${pct(this.description.panicBelow)}); routing to healthy backends only`;
    registry.notify({ url: PANIC_URL, kind: 'panic', to: panic ? 'panic' : 'normal', reason, pool: this.name });
    return panic;
  }

  /** #healthyCount counts the non-draining backends and the healthy ones among them (O(1) when nothing changed). */
  #healthyCount(): { healthy: number; total: number } {
    const set = this.#healthy;
    set.sync(false);
    return { healthy: set.count, total: this.#total };
  }

  /** panicking tells whether fewer than panicBelow of the (non-draining) backends are healthy. */
  panicking(): boolean {
    const threshold = this.description.panicBelow;
    if (threshold <= 0) return false;
    const { healthy, total } = this.#healthyCount();
    return total > 0 && healthy / total < threshold;
  }

  /** availableCount counts backends that may take a new request. */
  availableCount(): number {
    let n = 0;
    for (const b of this.backends) if (b.available) n++;
    return n;
  }

  /** reportProbe records an active-check result with this generation's rise/fall. */
  reportProbe(backend: Backend, ok: boolean, reason: string, ms = 0): void {
    this.refresh();
    this.registry.probed(backend.url, ok);
    this.registry.notify(applyProbe(backend.state, ok, reason, this.description.probe, this.registry.now(), ms));
    this.#checkPanic();
  }

  /** markDown takes a backend down at once (the seed's "retries on one backend exhausted" fast path). */
  markDown(backend: Backend, reason: string): void {
    const s = backend.state;
    if (s.health === 'down') return;
    s.health = 'down';
    s.passes = 0;
    s.reason = reason;
    s.since = this.registry.now();
    this.registry.notify({ url: s.url, kind: 'health', to: 'down', reason });
    this.#checkPanic();
    // In a worker, applied here at once (no more picks of it) and decided for all by the primary.
    this.#upstream?.markDown(s.url, reason, this.name);
  }

  /** reportOutcome records a live-traffic result for passive checks (outlier ejection). */
  reportOutcome(backend: Backend, ok: boolean, reason: string): void {
    this.refresh();
    const now = this.registry.now();
    const { maxEjectedPercent } = this.description.passive;
    // maxEjectedPercent is a share of the backends that take traffic: a
    // draining backend takes none, so it neither counts in the pool nor
    // uses up the cap (with a draining b1 and a failing b2, ejecting b2
    // would leave nothing to serve). Ejecting a draining backend costs no
    // capacity, so it is always allowed.
    const mayEject = () => {
      if (backend.draining) return true;
      let serving = 0;
      let ejected = 1; // the one about to be ejected
      for (const b of this.backends) {
        if (b.draining) continue;
        serving++;
        if (b !== backend && b.state.ejected(now)) ejected++;
      }
      return (ejected / serving) * 100 <= maxEjectedPercent;
    };
    const t = applyOutcome(backend.state, ok, reason, this.description.passive, now, mayEject);
    if (t) {
      const until = backend.state.ejectedUntil;
      if (until > now && until < this.registry.nextEjectionEnd) this.registry.nextEjectionEnd = until;
      this.registry.notify(t);
      this.#checkPanic();
    }
  }
}
