/**
 * least-connections: the eligible backend with the fewest in-flight
 * requests per unit of weight (`traffic.inFlight / effectiveWeight()`, nginx
 * `least_conn`, HAProxy `leastconn`). Loads are compared by cross
 * multiplication, so no division and no rounding surprises.
 *
 * Ties are broken by rotation: the scan starts at a cursor that moves past
 * each pick, so idle backends with equal load take turns instead of the
 * first one listed taking every request (which would happen with a plain
 * scan when requests are short and in-flight counts stay at zero).
 * O(n) per pick (one pass), no allocation.
 */
import type { Backend } from '../backend.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory } from './strategy.js';

class LeastConnections implements Strategy {
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
    let best: Backend | undefined;
    let bestIdx = 0;
    let bestLoad = 0;
    let bestWeight = 1;
    for (let i = 0; i < n; i++) {
      const idx = start + i < n ? start + i : start + i - n;
      const b = backends[idx] as Backend;
      if (!isEligible(b, ctx)) continue;
      const load = b.traffic.inFlight;
      const weight = b.effectiveWeight();
      // load / weight < bestLoad / bestWeight, both weights > 0.
      if (best === undefined || load * bestWeight < bestLoad * weight) {
        best = b;
        bestIdx = idx;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    if (best !== undefined) this.#cursor = bestIdx + 1;
    return best;
  }
}

/** leastConnections is the `least-connections` strategy factory. */
export const leastConnections = {
  name: 'least-connections',
  hashes: false,
  create: (backends: readonly Backend[]) => new LeastConnections(backends),
} satisfies StrategyFactory;
