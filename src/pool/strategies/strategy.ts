/**
 * The strategy interface: one method, `select`. A strategy is created per
 * pool generation (so state such as weights' counters or a hash ring is
 * rebuilt from the new generation, never patched) and only ever returns a
 * backend for which `isEligible` holds.
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';

/** PickContext carries what one pick needs besides the backends. */
export interface PickContext {
  /** tried holds the backends this request already attempted; never pick them again. */
  tried: ReadonlySet<Backend>;
  /** key is the request's hash key (hash strategies), if the request has one. */
  key?: string | undefined;
  /** panic is true when too few backends are up (healthCheck.panicBelow): unhealthy ones may be picked too. */
  panic?: boolean;
}

/** Strategy picks one backend of the generation it was created for, or undefined when none is eligible. */
export interface Strategy {
  select(ctx: PickContext): Backend | undefined;
  /**
   * onLoadChange, when a strategy has it, hears that `b.traffic.inFlight`
   * just changed: Pool.begin() and Pool.end() call it, so a strategy that
   * indexes backends by load (least-connections) can move `b` in O(log n)
   * instead of scanning every backend on each pick.
   */
  onLoadChange?(b: Backend): void;
}

/** StrategyOptions are what a strategy may need besides its backends. */
export interface StrategyOptions {
  /** random draws in [0, 1) (random-two); tests pass a seeded one. */
  random?: () => number;
  /**
   * journal is where the backends' states record their changes (the
   * registry's; every backend's state must record into it), the one thing
   * a strategy reads to keep its index of eligible backends up to date.
   * Without it the strategy re-checks every backend on each pick (O(n);
   * for backends made outside a registry, as unit tests do).
   */
  journal?: StateJournal | undefined;
}

/** StrategyFactory creates a strategy bound to one generation's backends. */
export interface StrategyFactory {
  readonly name: string;
  /** hashes: the strategy picks by the request's hash key (ip-hash, hash); others never need one. */
  readonly hashes: boolean;
  create(backends: readonly Backend[], options: StrategyOptions): Strategy;
}

/**
 * isEligible tells whether a strategy may pick `b` for this request: not
 * draining, not tried yet, and available (or merely not draining in panic mode).
 */
export function isEligible(b: Backend, ctx: PickContext): boolean {
  // tried is empty on a first attempt; skipping the Set lookup then halves the cost of O(n) strategies.
  if (b.draining || (ctx.tried.size !== 0 && ctx.tried.has(b))) return false;
  return ctx.panic === true || b.available;
}
