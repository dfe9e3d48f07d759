/**
 * least-connections: the eligible backend with the fewest in-flight
 * requests per unit of weight (`traffic.inFlight / effectiveWeight()`, nginx
 * `least_conn`, HAProxy `leastconn`).
 *
 * Ties are broken by rotation: among the backends with the least load, the
 * first at or after a cursor that moves past each pick, so idle backends
 * with equal load take turns instead of the first one listed taking every
 * request (which would happen with a plain scan when requests are short and
 * in-flight counts stay at zero).
 *
 * Index: a min segment tree over the backends (as HAProxy's lb_fwlc.c
 * keeps servers in a tree keyed by load): leaf i holds backend i's load
 * while it is eligible and +∞ otherwise, each node the least of its two
 * children. The least load is the root; the rotation among equal loads is
 * one descent to the first leaf at or after the cursor holding that load
 * (or the first from the start). Loads change on every begin and end: the
 * Pool calls onLoadChange(b), an O(log n) leaf update. A write to inFlight
 * that bypasses the Pool (tests, another generation's Pool sharing the
 * counter after a reload) is caught all the same: the backend about to be
 * picked is checked against its live count (an increase shows there), and
 * each pick re-checks one more leaf in turn (a decrease shows within n
 * picks). Eligibility comes from an EligibleSet (health changes are O(log n)
 * each at the next pick).
 *
 * Slow start moves a weight with time, so backends still ramping are kept
 * out of the tree and compared one by one on each pick.
 *
 * Cost per pick: O((1 + t) log n + r), t the request's tried backends and
 * r the backends in slow start (r = n right after a whole pool came up with
 * slowStart on: the worst case, as before this index). No allocation.
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { EligibleSet } from './eligible-set.js';
import { IndexSet } from './index-set.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';

/** Where a backend is: not eligible, in the tree, or eligible but ramping (slow start). */
const OUT = 0;
const TREE = 1;
const RAMP = 2;

class LeastConnections implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #eligible: EligibleSet;
  /** #leaves is the tree's leaf count (a power of two); #tree[1] is the root, #tree[#leaves + i] backend i. */
  readonly #leaves: number;
  readonly #tree: Float64Array;
  readonly #kind: Uint8Array;
  /** #ramp holds the eligible backends in slow start. */
  readonly #ramp: IndexSet;
  /** #suspended lists the tried backends whose leaves are +∞ during one pick. */
  readonly #suspended: number[] = [];
  /** #rampOver lists the ramping backends found at full weight during one pick (they join the tree after it). */
  readonly #rampOver: number[] = [];
  #cursor = 0;
  #sweep = 0;

  constructor(backends: readonly Backend[], journal: StateJournal | undefined) {
    this.#backends = backends;
    let leaves = 1;
    while (leaves < backends.length) leaves *= 2;
    this.#leaves = leaves;
    this.#tree = new Float64Array(2 * leaves).fill(Number.POSITIVE_INFINITY);
    this.#kind = new Uint8Array(backends.length);
    this.#ramp = new IndexSet(backends.length);
    this.#eligible = new EligibleSet(backends, journal, (i) => this.#place(i));
    for (let i = 0; i < backends.length; i++) this.#place(i);
  }

  onLoadChange(b: Backend): void {
    const i = this.#eligible.index.get(b);
    if (i !== undefined && this.#kind[i] === TREE) this.#setLeaf(i, b.traffic.inFlight / b.weight);
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    const n = backends.length;
    if (n === 0) return undefined;
    const eligible = this.#eligible;
    eligible.sync(ctx.panic === true);
    const tree = this.#tree;
    const leaves = this.#leaves;
    const kind = this.#kind;
    const tried = ctx.tried;
    const start = this.#cursor < n ? this.#cursor : 0;
    // Re-check one leaf per pick, in turn (a decrease written outside the Pool).
    const j = this.#sweep;
    this.#sweep = j + 1 < n ? j + 1 : 0;
    if (kind[j] === TREE) this.#setLeaf(j, (backends[j] as Backend).traffic.inFlight / (backends[j] as Backend).weight);
    // Tried backends sit out this pick.
    if (tried.size !== 0) {
      for (const t of tried) {
        const i = eligible.index.get(t);
        if (i !== undefined && kind[i] === TREE && tree[leaves + i] !== Number.POSITIVE_INFINITY) {
          this.#setLeaf(i, Number.POSITIVE_INFINITY);
          this.#suspended.push(i);
        }
      }
    }
    let best = -1;
    for (;;) {
      best = -1;
      let bestLoad = tree[1] as number;
      if (bestLoad !== Number.POSITIVE_INFINITY) {
        best = this.#firstAtMost(start, bestLoad);
        if (best < 0) best = this.#firstAtMost(0, bestLoad);
      }
      const ramp = this.#ramp;
      this.#rampOver.length = 0;
      for (let k = 0; k < ramp.size; k++) {
        const i = ramp.at(k);
        const b = backends[i] as Backend;
        if (tried.size !== 0 && tried.has(b)) continue;
        const weight = b.effectiveWeight();
        if (weight >= b.weight) this.#rampOver.push(i); // joins the tree after this pick
        const load = b.traffic.inFlight / weight;
        // Less load wins; on a tie, the one met first going round from the cursor.
        if (best < 0 || load < bestLoad || (load === bestLoad && (i - start + n) % n < (best - start + n) % n)) {
          best = i;
          bestLoad = load;
        }
      }
      if (best < 0) break;
      const b = backends[best] as Backend;
      if (kind[best] === TREE) {
        const load = b.traffic.inFlight / b.weight;
        if (load !== tree[leaves + best]) {
          this.#setLeaf(best, load); // written outside the Pool; look again
          continue;
        }
      }
      if (isEligible(b, ctx)) break;
      // Cannot happen while every write to health is journaled; if it does, trust isEligible.
      eligible.recheck(best);
      if (eligible.has(best)) {
        best = this.#scan(ctx, start);
        break;
      }
    }
    if (this.#rampOver.length !== 0) {
      for (const i of this.#rampOver) this.#place(i);
      this.#rampOver.length = 0;
    }
    if (this.#suspended.length !== 0) {
      for (const i of this.#suspended) {
        if (kind[i] === TREE) this.#setLeaf(i, (backends[i] as Backend).traffic.inFlight / (backends[i] as Backend).weight);
      }
      this.#suspended.length = 0;
    }
    if (best < 0) return undefined;
    this.#cursor = best + 1;
    return backends[best];
  }

  /** #firstAtMost returns the first backend index >= from whose leaf is <= load, or -1. O(log n). */
  #firstAtMost(from: number, load: number): number {
    const tree = this.#tree;
    const leaves = this.#leaves;
    let k = leaves + from;
    // Climb to the first subtree right of `from` that holds such a leaf.
    while ((tree[k] as number) > load) {
      while ((k & 1) === 1) k >>= 1;
      if (k === 0) return -1;
      k++;
    }
    while (k < leaves) k = (tree[2 * k] as number) <= load ? 2 * k : 2 * k + 1;
    return k - leaves;
  }

  #setLeaf(i: number, load: number): void {
    const tree = this.#tree;
    let k = this.#leaves + i;
    if (tree[k] === load) return;
    tree[k] = load;
    for (k >>= 1; k >= 1; k >>= 1) {
      const least = Math.min(tree[2 * k] as number, tree[2 * k + 1] as number);
      if (tree[k] === least) return;
      tree[k] = least;
    }
  }

  /** #place puts backend i where the EligibleSet and its slow start say: out, in the tree, or ramping. */
  #place(i: number): void {
    const b = this.#backends[i] as Backend;
    const want = !this.#eligible.has(i) ? OUT : b.effectiveWeight() < b.weight ? RAMP : TREE;
    const was = this.#kind[i];
    if (want === RAMP) this.#ramp.add(i);
    else if (was === RAMP) this.#ramp.delete(i);
    this.#kind[i] = want;
    this.#setLeaf(i, want === TREE ? b.traffic.inFlight / b.weight : Number.POSITIVE_INFINITY);
  }

  /** #scan is the plain O(n) pass, the last resort should the set ever disagree with isEligible. */
  #scan(ctx: PickContext, start: number): number {
    const backends = this.#backends;
    const n = backends.length;
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 1;
    for (let k = 0; k < n; k++) {
      const idx = start + k < n ? start + k : start + k - n;
      const b = backends[idx] as Backend;
      if (!isEligible(b, ctx)) continue;
      const load = b.traffic.inFlight;
      const weight = b.effectiveWeight();
      if (best < 0 || load * bestWeight < bestLoad * weight) {
        best = idx;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    return best;
  }
}

/** leastConnections is the `least-connections` strategy factory. */
export const leastConnections = {
  name: 'least-connections',
  hashes: false,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new LeastConnections(backends, options.journal),
} satisfies StrategyFactory;
