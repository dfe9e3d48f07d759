/**
 * random-two: the power of two random choices (Mitzenmacher; nginx
 * `random two least_conn`, HAProxy `random(2)`, Envoy least request). Draw
 * two distinct eligible backends at random and take the one with fewer
 * in-flight requests per unit of weight (`traffic.inFlight /
 * effectiveWeight()`); on a tie the first draw wins, which is itself uniform.
 * It needs no shared cursor and never herds every balancer onto the same
 * "least loaded" backend.
 *
 * Cost: O(1) expected per pick while most backends are eligible. Each of
 * the two draws is retried up to MAX_DRAWS times when it lands on an
 * ineligible backend (rejection sampling keeps the choice uniform over the
 * eligible ones). When that fails, because most backends are down, drained
 * or tried, a bounded fallback takes over: one pass counts the eligible
 * backends and a second pass finds two distinct random ranks among them —
 * O(n), still uniform, and no bias towards the backend after a dead one
 * (the flaw of "scan forward to the next live one", see Envoy's
 * load_balancers.rst). Randomness comes from `options.random` (tests seed it).
 */
import type { Backend } from '../backend.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';

/** MAX_DRAWS bounds the random draws per candidate before the O(n) fallback. */
const MAX_DRAWS = 4;

/** lighter returns the less loaded of two backends (inFlight per unit of weight); `a` on a tie. */
function lighter(a: Backend, b: Backend): Backend {
  return b.traffic.inFlight * a.effectiveWeight() < a.traffic.inFlight * b.effectiveWeight() ? b : a;
}

class RandomTwo implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #random: () => number;

  constructor(backends: readonly Backend[], random: () => number) {
    this.#backends = backends;
    this.#random = random;
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = backends[0] as Backend;
      return isEligible(only, ctx) ? only : undefined;
    }
    const i = this.#draw(backends, ctx, -1);
    if (i >= 0) {
      const j = this.#draw(backends, ctx, i);
      if (j >= 0) return lighter(backends[i] as Backend, backends[j] as Backend);
    }
    return this.#fallback(backends, ctx);
  }

  /** #draw returns a random eligible index other than `skip`, or -1 after MAX_DRAWS misses. */
  #draw(backends: readonly Backend[], ctx: PickContext, skip: number): number {
    const n = backends.length;
    const span = skip < 0 ? n : n - 1;
    for (let k = 0; k < MAX_DRAWS; k++) {
      let idx = Math.floor(this.#random() * span);
      if (idx >= span) idx = span - 1; // a random() that returns 1 must not overflow
      if (skip >= 0 && idx >= skip) idx++;
      if (isEligible(backends[idx] as Backend, ctx)) return idx;
    }
    return -1;
  }

  /** #fallback counts the eligible backends, then picks two distinct ones uniformly: O(n). */
  #fallback(backends: readonly Backend[], ctx: PickContext): Backend | undefined {
    let m = 0;
    for (const b of backends) if (isEligible(b, ctx)) m++;
    if (m === 0) return undefined;
    const r1 = Math.min(m - 1, Math.floor(this.#random() * m));
    let r2 = -1;
    if (m > 1) {
      r2 = Math.min(m - 2, Math.floor(this.#random() * (m - 1)));
      if (r2 >= r1) r2++;
    }
    let first: Backend | undefined;
    let second: Backend | undefined;
    let rank = 0;
    for (const b of backends) {
      if (!isEligible(b, ctx)) continue;
      if (rank === r1) first = b;
      else if (rank === r2) second = b;
      rank++;
    }
    if (first === undefined) return second;
    return second === undefined ? first : lighter(first, second);
  }
}

/** randomTwo is the `random-two` strategy factory (power of two random choices). */
export const randomTwo = {
  name: 'random-two',
  hashes: false,
  create: (backends: readonly Backend[], options: StrategyOptions) => new RandomTwo(backends, options.random ?? Math.random),
} satisfies StrategyFactory;
