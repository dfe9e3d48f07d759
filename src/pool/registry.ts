/**
 * BackendRegistry holds every backend's runtime state by normalised URL, so
 * that a backend listed by two successive pool generations keeps its health,
 * counters and in-flight count across a reload (Caddy's `hosts` pool, but
 * owned by the daemon and passed in instead of a package global). The two
 * parts of the state (BackendState: health; BackendTraffic: live counters)
 * are kept in separate maps, so a cluster primary can own the first and each
 * worker the second. The registry also owns the journal its states record
 * their changes in (see StateJournal), which every Pool built on it hands to
 * its strategy: two registries, two daemons, share nothing.
 */
import { BackendState, BackendTraffic, type StateSnapshot } from './backend.js';
import { applyClock, type Transition } from './health-state.js';
import { StateJournal } from './state-journal.js';

/** RegistryOptions inject the clock and the listener for state changes. */
export interface RegistryOptions {
  now?: () => number;
  /** onTransition hears every state change once (the daemon logs it and updates metrics). */
  onTransition?: (t: Transition) => void;
  /** onProbe hears every active probe result (metrics count them). */
  onProbe?: (url: string, ok: boolean) => void;
}

/** BackendRegistry maps a backend URL to its BackendState and BackendTraffic. */
export class BackendRegistry {
  readonly now: () => number;
  /** journal lists the changes of this registry's states (every state it creates records into it). */
  readonly journal = new StateJournal();
  readonly #states = new Map<string, BackendState>();
  readonly #traffic = new Map<string, BackendTraffic>();
  readonly #onTransition: (t: Transition) => void;
  readonly #onProbe: ((url: string, ok: boolean) => void) | undefined;
  /**
   * #keep is what the last retain() kept plus every URL asked for since (a
   * generation being built); undefined until the first retain().
   */
  #keep: Set<string> | undefined;
  /**
   * nextEjectionEnd is the earliest time an ejection may end (Infinity when
   * none is in force), so the per-pick refresh skips its O(n) scan until then.
   */
  nextEjectionEnd = Number.POSITIVE_INFINITY;

  constructor(opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.#onTransition = opts.onTransition ?? (() => {});
    this.#onProbe = opts.onProbe;
  }

  /** state returns the health state for `url`, creating it (and its traffic counters) on first use. */
  state(url: string): BackendState {
    let s = this.#states.get(url);
    if (!s) {
      s = new BackendState(url, this.now(), this.journal);
      this.#states.set(url, s);
      this.#traffic.set(url, new BackendTraffic());
    }
    this.#keep?.add(url);
    return s;
  }

  /** traffic returns the live counters for `url`, creating its state on first use. */
  traffic(url: string): BackendTraffic {
    this.state(url);
    return this.#traffic.get(url) as BackendTraffic;
  }

  /** has tells whether `url` already has state (it was in an earlier generation). */
  has(url: string): boolean {
    return this.#states.has(url);
  }

  /**
   * retain forgets the state of every URL not in `urls` that has nothing in
   * flight now; one that is still busy is forgotten by released() when its
   * last attempt ends. Returns the URLs forgotten now.
   */
  retain(urls: Iterable<string>): string[] {
    this.#keep = new Set(urls);
    const dropped: string[] = [];
    for (const url of [...this.#states.keys()]) if (this.#forget(url)) dropped.push(url);
    return dropped;
  }

  /** released is called when an attempt on `url` ends: a URL no generation keeps goes once idle. */
  released(url: string): void {
    this.#forget(url);
  }

  #forget(url: string): boolean {
    if (this.#keep === undefined || this.#keep.has(url) || (this.#traffic.get(url)?.inFlight ?? 0) > 0) return false;
    this.#states.delete(url);
    this.#traffic.delete(url);
    return true;
  }

  /**
   * mirror copies a state decided elsewhere (a cluster primary's) into this
   * registry: a worker's only writer of health state. Changes of health,
   * ejection and slow start are journaled as usual, so strategies see them.
   */
  mirror(s: StateSnapshot): void {
    const st = this.state(s.url);
    st.probed = s.probed;
    st.passes = s.passes;
    st.fails = s.fails;
    st.lastProbe = s.lastProbe;
    st.consecutiveFailures = s.consecutiveFailures;
    st.ejections = s.ejections;
    st.ejectedForMs = s.ejectedForMs;
    st.reason = s.reason;
    st.since = s.since;
    st.health = s.health;
    st.upSince = s.upSince;
    st.ejectedUntil = s.ejectedUntil;
    if (s.ejectedUntil > this.now() && s.ejectedUntil < this.nextEjectionEnd) this.nextEjectionEnd = s.ejectedUntil;
  }

  /** probed passes one probe result to the listener. */
  probed(url: string, ok: boolean): void {
    this.#onProbe?.(url, ok);
  }

  /**
   * endEjections ends every ejection whose time is over (the backend returns
   * on probation, logged once) and sets nextEjectionEnd to the earliest one
   * still in force. O(states); runs only when an ejection is due.
   */
  endEjections(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const st of this.#states.values()) {
      if (st.ejectedUntil !== 0) this.notify(applyClock(st, now));
      if (st.ejectedUntil > now && st.ejectedUntil < next) next = st.ejectedUntil;
    }
    this.nextEjectionEnd = next;
  }

  /** notify passes a transition to the listener. */
  notify(t: Transition | undefined): void {
    if (t) this.#onTransition(t);
  }
}
