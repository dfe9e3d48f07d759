/**
 * random-two: the power of two random choices (Mitzenmacher; nginx
 * `random two least_conn`, HAProxy `random(2)`, Envoy least request). Draw
 * two distinct eligible backends at random and take the one with fewer
 * in-flight requests per unit of weight (`traffic.inFlight /
 * effectiveWeight()`); on a tie the first draw wins, which is itself uniform.
 * It needs no shared cursor and never herds every balancer onto the same
 * "least loaded" backend.
 *
 * Cost: O(1) expected per pick, however many backends are out. While at
 * least a quarter of the backends are eligible, each of the two draws is
 * over the whole pool and is retried up to MAX_DRAWS times when it lands on
 * an ineligible backend (rejection sampling keeps the choice uniform over
 * the eligible ones). Otherwise, or when those draws miss, the draws are
 * over a dense array of the eligible backends' indexes (swap-remove, kept in
 * step with an EligibleSet), rejecting only the request's few tried ones:
 * still uniform, and no bias towards the backend after a dead one (the flaw
 * of "scan forward to the next live one", see Envoy's load_balancers.rst).
 * Randomness comes from `options.random` (tests seed it).
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { EligibleSet } from './eligible-set.js';
import { IndexSet } from './index-set.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';

/** MAX_DRAWS bounds the random draws over the whole pool per candidate before drawing from the eligible ones. */
const MAX_DRAWS = 4;

/** lighter returns the less loaded of two backends (inFlight per unit of weight); `a` on a tie. */
function lighter(a: Backend, b: Backend): Backend {
  return b.traffic.inFlight * a.effectiveWeight() < a.traffic.inFlight * b.effectiveWeight() ? b : a;
}

class RandomTwo implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #random: () => number;
  readonly #eligible: EligibleSet;
  /** #dense holds the indexes of the eligible backends, in no order. */
  readonly #dense: IndexSet;

  constructor(backends: readonly Backend[], random: () => number, journal: StateJournal | undefined) {
    this.#backends = backends;
    this.#random = random;
    this.#dense = new IndexSet(backends.length);
    this.#eligible = new EligibleSet(backends, journal, (i) => this.#place(i));
    for (let i = 0; i < backends.length; i++) this.#place(i);
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    if (n === 0) return undefined;
    if (n === 1) {
      const only = backends[0] as Backend;
      return isEligible(only, ctx) ? only : undefined;
    }
    this.#eligible.sync(ctx.panic === true);
    if (this.#dense.size * 4 >= n) {
      const i = this.#draw(backends, ctx, -1);
      if (i >= 0) {
        const j = this.#draw(backends, ctx, i);
        if (j >= 0) return lighter(backends[i] as Backend, backends[j] as Backend);
      }
    }
    return this.#fromEligible(ctx);
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

  /**
   * #fromEligible picks two distinct untried backends uniformly among the
   * eligible ones and returns the lighter: O(1) expected (each draw is
   * accepted with probability >= 1/2), O(|tried|) when few are left.
   */
  #fromEligible(ctx: PickContext): Backend | undefined {
    const tried = ctx.tried;
    for (;;) {
      const size = this.#dense.size;
      const triedIn = tried.size === 0 ? 0 : this.#eligible.triedMembers(tried);
      const left = size - triedIn;
      if (left <= 0) return undefined;
      let first: number;
      let second = -1;
      if (size > 2 * triedIn + 2) {
        first = this.#drawEligible(tried, -1);
        if (left > 1) second = this.#drawEligible(tried, first);
      } else {
        // Few eligible backends, several of them tried: list the untried ones.
        const untried: number[] = [];
        for (let k = 0; k < size; k++) {
          const i = this.#dense.at(k);
          if (tried.size === 0 || !tried.has(this.#backends[i] as Backend)) untried.push(i);
        }
        const r1 = Math.min(left - 1, Math.floor(this.#random() * left));
        first = untried[r1] as number;
        if (left > 1) {
          let r2 = Math.min(left - 2, Math.floor(this.#random() * (left - 1)));
          if (r2 >= r1) r2++;
          second = untried[r2] as number;
        }
      }
      const a = this.#backends[first] as Backend;
      const b = second < 0 ? undefined : (this.#backends[second] as Backend);
      // Cannot fail while every write to health is journaled; if it does, drop the stale member and
      // draw again (or, should the set and isEligible disagree, count the eligible ones in one pass).
      const stale = !isEligible(a, ctx) ? first : b !== undefined && !isEligible(b, ctx) ? second : -1;
      if (stale < 0) return b === undefined ? a : lighter(a, b);
      this.#eligible.recheck(stale);
      if (this.#eligible.has(stale)) return this.#scan(ctx);
    }
  }

  /** #scan counts the eligible backends, then picks two distinct ones uniformly: O(n), the last resort. */
  #scan(ctx: PickContext): Backend | undefined {
    const eligible = this.#backends.filter((b) => isEligible(b, ctx));
    const m = eligible.length;
    if (m === 0) return undefined;
    const r1 = Math.min(m - 1, Math.floor(this.#random() * m));
    if (m === 1) return eligible[r1];
    let r2 = Math.min(m - 2, Math.floor(this.#random() * (m - 1)));
    if (r2 >= r1) r2++;
    return lighter(eligible[r1] as Backend, eligible[r2] as Backend);
  }

  /** #drawEligible draws an eligible index uniformly, rejecting tried backends and `skip`. */
  #drawEligible(tried: ReadonlySet<Backend>, skip: number): number {
    const size = this.#dense.size;
    for (;;) {
      let k = Math.floor(this.#random() * size);
      if (k >= size) k = size - 1;
      const i = this.#dense.at(k);
      if (i !== skip && (tried.size === 0 || !tried.has(this.#backends[i] as Backend))) return i;
    }
  }

  /** #place adds or removes backend i in the dense array to match the EligibleSet. */
  #place(i: number): void {
    if (this.#eligible.has(i)) this.#dense.add(i);
    else this.#dense.delete(i);
  }
}

/** randomTwo is the `random-two` strategy factory (power of two random choices). */
export const randomTwo = {
  name: 'random-two',
  hashes: false,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new RandomTwo(backends, options.random ?? Math.random, options.journal),
} satisfies StrategyFactory;
