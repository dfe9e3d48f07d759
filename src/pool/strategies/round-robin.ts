/**
 * round-robin: plain rotation over eligible backends. The cursor belongs to
 * the strategy instance (no module state) and after each pick points just
 * past the backend picked. Why not "advance by one per pick": with [a, b, c]
 * and b down that gives a, c, c — c would take b's share. Setting the cursor
 * past the pick gives a, c, a, c. The seed's race (a Go atomic store racing
 * with concurrent increments) cannot happen here: select() is synchronous on
 * one thread. O(1) when the next backend is eligible, O(n) worst case.
 */
import type { Backend } from '../backend.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory } from './strategy.js';

class RoundRobin implements Strategy {
  readonly #backends: readonly Backend[];
  #cursor = 0;

  constructor(backends: readonly Backend[]) {
    this.#backends = backends;
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    if (n === 0) return undefined;
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
  create: (backends: readonly Backend[]) => new RoundRobin(backends),
} satisfies StrategyFactory;
