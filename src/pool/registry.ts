/**
 * BackendRegistry holds every backend's runtime state by normalised URL, so
 * that a backend listed by two successive pool generations keeps its health,
 * counters and in-flight count across a reload (Caddy's `hosts` pool, but
 * owned by the daemon and passed in instead of a package global).
 */
import { BackendState } from './backend.js';
import type { Transition } from './health-state.js';

/** RegistryOptions inject the clock and the listener for state changes. */
export interface RegistryOptions {
  now?: () => number;
  /** onTransition hears every state change once (the daemon logs it and updates metrics). */
  onTransition?: (t: Transition) => void;
}

/** BackendRegistry maps a backend URL to its BackendState. */
export class BackendRegistry {
  readonly now: () => number;
  readonly #states = new Map<string, BackendState>();
  readonly #onTransition: (t: Transition) => void;
  /**
   * panic is whether the pool is in panic mode as last logged. It lives here,
   * beside the backend states, so a reload that keeps the pool in panic does
   * not log the start of panic mode again.
   */
  panic = false;
  /** servingGeneration is the newest generation that has picked a backend (the one serving new requests). */
  servingGeneration = 0;
  /**
   * nextEjectionEnd is the earliest time an ejection may end (Infinity when
   * none is in force), so the per-pick refresh skips its O(n) scan until then.
   */
  nextEjectionEnd = Number.POSITIVE_INFINITY;

  constructor(opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.#onTransition = opts.onTransition ?? (() => {});
  }

  /** state returns the state for `url`, creating it on first use. */
  state(url: string): BackendState {
    let s = this.#states.get(url);
    if (!s) {
      s = new BackendState(url, this.now());
      this.#states.set(url, s);
    }
    return s;
  }

  /** has tells whether `url` already has state (it was in an earlier generation). */
  has(url: string): boolean {
    return this.#states.has(url);
  }

  /** retain forgets the state of every URL not in `urls` whose in-flight count is zero. */
  retain(urls: ReadonlySet<string>): string[] {
    const dropped: string[] = [];
    for (const [url, s] of this.#states) {
      if (!urls.has(url) && s.inFlight === 0) {
        this.#states.delete(url);
        dropped.push(url);
      }
    }
    return dropped;
  }

  /** notify passes a transition to the listener. */
  notify(t: Transition | undefined): void {
    if (t) this.#onTransition(t);
  }
}
