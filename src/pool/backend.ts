/**
 * A backend as the pool sees it: its spec (from lb.yaml, per generation) and
 * its runtime state (keyed by URL in the BackendRegistry, so it survives a
 * reload). The state has two owners, kept in two objects so a cluster
 * primary can own one and each worker the other:
 * - BackendState: what probes and passive ejections decide (health,
 *   ejections). Written only by pool/health-state.ts through the Pool.
 * - BackendTraffic: what live traffic counts in this process (in flight,
 *   requests, failures). Written only by Pool.begin() / Pool.end().
 * No I/O and no timers live here: time comes from an injected clock.
 */
import type { StateJournal } from './state-journal.js';
import { stickyId } from './sticky.js';

/** BackendSpec is one backend as lb.yaml describes it (URL already normalised). */
export interface BackendSpec {
  url: string;
  weight: number;
  drain: boolean;
  /** maxConnections: the most attempts in flight to it in this process (undefined = no limit). */
  maxConnections?: number | undefined;
}

/** HealthStatus is the active-check verdict on a backend. */
export type HealthStatus = 'up' | 'down';

/** BackendStateName is what /status shows: health, passive ejection and drain folded into one word. */
export type BackendStateName = 'up' | 'down' | 'ejected' | 'draining';

/**
 * BackendState is what active and passive health checks decided about one
 * backend, shared by every pool generation that lists the same URL (the
 * part a cluster primary owns and broadcasts). Counters follow nginx and
 * HAProxy: rise/fall counters for probes, consecutive failures for passive
 * checks.
 */
export class BackendState {
  readonly url: string;
  #health: HealthStatus = 'up';
  /** probed becomes true after the first probe: the first result decides directly (no rise/fall). */
  probed = false;
  /** passes / fails count consecutive probe results (for rise / fall). */
  passes = 0;
  fails = 0;
  lastProbe: { at: number; ok: boolean; reason: string; ms: number } | undefined;
  /** consecutiveFailures counts live-traffic failures in a row (passive checks). */
  consecutiveFailures = 0;
  /** ejections counts how often this backend was ejected; the ejection time grows with it. */
  ejections = 0;
  #ejectedUntil = 0;
  /** ejectedForMs is how long the latest ejection lasts (for the log line when it ends). */
  ejectedForMs = 0;
  #upSince = 0;
  reason = 'initial';
  since: number;
  /**
   * journal hears every change of health, ejectedUntil and upSince (see
   * StateJournal): the registry's, or none for a state made on its own.
   */
  readonly journal: StateJournal | undefined;

  constructor(url: string, now: number, journal?: StateJournal) {
    this.url = url;
    this.since = now;
    this.journal = journal;
  }

  /** health is the active-check verdict; a backend starts up until its first probe says otherwise. A change is journaled. */
  get health(): HealthStatus {
    return this.#health;
  }

  set health(to: HealthStatus) {
    if (to === this.#health) return;
    this.#health = to;
    this.journal?.record(this);
  }

  /** ejectedUntil is the clock time an ejection ends (0 = not ejected). A change is journaled. */
  get ejectedUntil(): number {
    return this.#ejectedUntil;
  }

  set ejectedUntil(at: number) {
    if (at === this.#ejectedUntil) return;
    this.#ejectedUntil = at;
    this.journal?.record(this);
  }

  /** upSince is when the backend last came up (for slow start); 0 = up since the start. A change is journaled. */
  get upSince(): number {
    return this.#upSince;
  }

  set upSince(at: number) {
    if (at === this.#upSince) return;
    this.#upSince = at;
    this.journal?.record(this);
  }

  /** toJSON keeps JSON.stringify(state) showing every field (three of them are accessors). */
  toJSON(): StateSnapshot {
    return this.snapshot();
  }

  /** snapshot is the state as plain data: what a cluster primary sends its workers (see BackendRegistry.mirror). */
  snapshot(): StateSnapshot {
    return {
      url: this.url, health: this.health, probed: this.probed, passes: this.passes, fails: this.fails,
      lastProbe: this.lastProbe, consecutiveFailures: this.consecutiveFailures, ejections: this.ejections,
      ejectedUntil: this.ejectedUntil, ejectedForMs: this.ejectedForMs, upSince: this.upSince, reason: this.reason, since: this.since,
    };
  }

  /** ejected tells whether a passive ejection is in force at `now`. */
  ejected(now: number): boolean {
    return this.ejectedUntil > now;
  }
}

/** StateSnapshot is a BackendState as plain data (JSON, IPC). */
export interface StateSnapshot {
  url: string;
  health: HealthStatus;
  probed: boolean;
  passes: number;
  fails: number;
  lastProbe: { at: number; ok: boolean; reason: string; ms: number } | undefined;
  consecutiveFailures: number;
  ejections: number;
  ejectedUntil: number;
  ejectedForMs: number;
  upSince: number;
  reason: string;
  since: number;
}

/**
 * BackendTraffic counts the live traffic of one backend in this process
 * (the part each worker owns). Each counter has one meaning:
 * - inFlight: attempts sent to the backend and not yet ended (requests and
 *   upgrades); what least-connections and random-two compare.
 * - requests: attempts begun on the backend (a retry on the same backend
 *   counts again).
 * - failures: attempts that ended in a backend failure: connect failed,
 *   reset after sending, timeout, a 5xx answer or a response cut short.
 *   A client that went away is never a backend failure. The same whether
 *   passive checks are on or off.
 */
export class BackendTraffic {
  inFlight = 0;
  requests = 0;
  failures = 0;
}

/** BackendOptions are per-generation settings a backend needs to answer `available` and `effectiveWeight`. */
export interface BackendOptions {
  now: () => number;
  slowStartMs: number;
}

/**
 * Backend joins a spec and its state for one pool generation. Strategies
 * ask `available` and nothing else to know whether they may pick it.
 */
export class Backend {
  readonly spec: BackendSpec;
  /** state is the health part (probes, ejections); read it anywhere, write it only through the Pool. */
  readonly state: BackendState;
  /** traffic is this process's live counters; read it anywhere, write it only through Pool.begin/end. */
  readonly traffic: BackendTraffic;
  readonly #opts: BackendOptions;
  #stickyId: string | undefined;

  constructor(spec: BackendSpec, state: BackendState, traffic: BackendTraffic, opts: BackendOptions) {
    this.spec = spec;
    this.state = state;
    this.traffic = traffic;
    this.#opts = opts;
  }

  /** url is the normalised backend URL, the key of its state. */
  get url(): string {
    return this.spec.url;
  }

  /** stickyId is the opaque id a sticky cookie names this backend by (computed once). */
  get stickyId(): string {
    this.#stickyId ??= stickyId(this.spec.url);
    return this.#stickyId;
  }

  /** weight is the configured weight. */
  get weight(): number {
    return this.spec.weight;
  }

  /** full tells whether the backend has maxConnections attempts in flight in this process. */
  get full(): boolean {
    const max = this.spec.maxConnections;
    return max !== undefined && this.traffic.inFlight >= max;
  }

  /** draining tells whether the backend takes no new requests (drain: true). */
  get draining(): boolean {
    return this.spec.drain;
  }

  /** healthy tells whether active checks pass and no passive ejection is in force. */
  get healthy(): boolean {
    return this.state.health === 'up' && !this.state.ejected(this.#opts.now());
  }

  /**
   * available returns true when the backend may take a new request: healthy and
   * not draining. This is the one predicate selection strategies use.
   */
  get available(): boolean {
    return !this.spec.drain && this.healthy;
  }

  /** stateName folds health, ejection and drain into the word /status shows. */
  get stateName(): BackendStateName {
    if (this.spec.drain) return 'draining';
    if (this.state.health === 'down') return 'down';
    if (this.state.ejected(this.#opts.now())) return 'ejected';
    return 'up';
  }

  /**
   * effectiveWeight is the weight the weighted strategies use: the configured
   * weight, ramped linearly from 1/10 of it to all of it over slowStart after
   * the backend came up (Envoy and HAProxy `slowstart`).
   */
  effectiveWeight(): number {
    const ramp = this.#opts.slowStartMs;
    const since = this.state.upSince;
    if (ramp <= 0 || since === 0) return this.spec.weight;
    const elapsed = this.#opts.now() - since;
    if (elapsed >= ramp) return this.spec.weight;
    const share = Math.max(0.1, elapsed / ramp);
    return this.spec.weight * share;
  }
}
