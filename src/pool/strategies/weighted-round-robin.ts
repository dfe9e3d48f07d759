/**
 * weighted-round-robin: nginx's smooth weighted round robin
 * (ngx_http_upstream_get_peer in ngx_http_upstream_round_robin.c). Every
 * pick adds each eligible backend's effective weight to its current weight,
 * takes the backend with the largest current weight and subtracts the total
 * of the effective weights from it. Weights 5:1:1 give `a a b a c a a` per
 * cycle: the heavy backend's turns are spread out instead of bunched
 * (`a a a a a b c`); with every backend eligible the current weights sum to
 * zero after each pick, so the cycle repeats exactly.
 *
 * The effective weight is `Backend.effectiveWeight()`, so slow start ramps a
 * backend that came up; an ineligible backend (down, draining, tried) takes
 * no part in the pick, so its share spreads over the others in proportion to
 * their weights. Ties go to the backend listed first, which keeps sequences
 * deterministic. O(n) per pick (one pass over the backends), no allocation.
 */
import type { Backend } from '../backend.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory } from './strategy.js';

class SmoothWeightedRoundRobin implements Strategy {
  readonly #backends: readonly Backend[];
  /** currentWeight[i] is nginx's current_weight of backends[i]. */
  readonly #currentWeight: Float64Array;

  constructor(backends: readonly Backend[]) {
    this.#backends = backends;
    this.#currentWeight = new Float64Array(backends.length);
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    const current = this.#currentWeight;
    let best = -1;
    let bestWeight = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const b = backends[i] as Backend;
      if (!isEligible(b, ctx)) continue;
      const w = b.effectiveWeight();
      const cw = (current[i] as number) + w;
      current[i] = cw;
      total += w;
      if (best < 0 || cw > bestWeight) {
        best = i;
        bestWeight = cw;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestWeight - total;
    return backends[best];
  }
}

/** weightedRoundRobin is the `weighted-round-robin` strategy factory (nginx smooth WRR). */
export const weightedRoundRobin = {
  name: 'weighted-round-robin',
  hashes: false,
  create: (backends: readonly Backend[]) => new SmoothWeightedRoundRobin(backends),
} satisfies StrategyFactory;
