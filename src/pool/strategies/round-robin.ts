/**
 * round-robin: plain rotation over eligible backends. The cursor belongs to
 * the strategy instance (no module state) and after each pick points just
 * past the backend picked. Why not "advance by one per pick": with [a, b, c]
 * and b down that gives a, c, c — c would take b's share. Setting the cursor
 * past the pick gives a, c, a, c. The seed's race (a Go atomic store racing
 * with concurrent increments) cannot happen here: select() is synchronous on
 * one thread.
 *
 * The pick is the first eligible backend at or after the cursor, found as
 * the successor of the cursor in the EligibleSet's bitmap: O(log32 n) per
 * pick (three word lookups up to 32,768 backends) however many backends are
 * down, plus one step per backend of the request's tried set that is in the
 * way. Health changes cost O(1) each at the next pick; panic mode starting
 * or ending costs one O(n) pass.
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { EligibleSet } from './eligible-set.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';

class RoundRobin implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #eligible: EligibleSet;
  #cursor = 0;

  constructor(backends: readonly Backend[], journal: StateJournal | undefined) {
    this.#backends = backends;
    this.#eligible = new EligibleSet(backends, journal);
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    if (n === 0) return undefined;
    const eligible = this.#eligible;
    eligible.sync(ctx.panic === true);
    const tried = ctx.tried;
    const triedIn = tried.size === 0 ? 0 : eligible.triedMembers(tried);
    if (eligible.count <= triedIn) return undefined;
    const members = eligible.members;
    let from = this.#cursor < n ? this.#cursor : 0;
    // Each turn returns, or passes one of the few tried backends (the count above
    // says an untried member exists), or drops a member that failed isEligible.
    for (;;) {
      let idx = members.next(from);
      if (idx < 0) idx = members.next(0);
      if (idx < 0) return undefined;
      const b = backends[idx] as Backend;
      if (tried.size !== 0 && tried.has(b)) {
        from = idx + 1;
        continue;
      }
      if (!isEligible(b, ctx)) {
        // Cannot happen while every write to health is journaled; if it does, trust isEligible.
        eligible.recheck(idx);
        return this.#scan(ctx);
      }
      this.#cursor = idx + 1;
      return b;
    }
  }

  /** #scan is the plain O(n) rotation, the fallback should the set ever disagree with isEligible. */
  #scan(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    const start = this.#cursor % n;
    for (let i = 0; i < n; i++) {
      const idx = (start + i) % n;
      const b = backends[idx] as Backend;
      if (isEligible(b, ctx)) {
        this.#cursor = idx + 1;
        return b;
      }
    }
    return undefined;
  }
}

/** roundRobin is the `round-robin` strategy factory. */
export const roundRobin = {
  name: 'round-robin',
  hashes: false,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new RoundRobin(backends, options.journal),
} satisfies StrategyFactory;
