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
 * deterministic.
 *
 * Index — the same picks as nginx's O(n) loop, without the loop. A backend
 * of constant weight w that takes part in every pick gains w per pick, so
 * it stores `base = current weight − G·w`, G the picks made so far: its
 * current weight at pick T is base + T·w, and nothing is added per pick.
 * Backends of one weight keep their order as T grows, so each distinct
 * weight has a binary max-heap by base (ties to the backend listed first);
 * across weights the order does change with T, so the heaps' tops are the
 * lines of a KineticTournament, which gives the largest current weight at
 * T (with a few weights the tops are simply compared): see weight-heaps.ts.
 * A pick subtracts the total from the winner: one sift in its heap, one
 * path in the tournament. Why not Envoy's earliest-deadline-first scheduler
 * (also O(log n)): for 5:1:1 EDF gives `a a a a b c a`, then six a's in a
 * row across the cycle boundary, not nginx's `a a b a c a a`. A backend
 * that leaves the EligibleSet (down, ejected) freezes its current weight,
 * as nginx's loop skips it, and resumes from it when it comes back; a tried
 * backend sits out one pick the same way.
 *
 * Slow start moves a ramping backend's weight with time, so it keeps its
 * current weight explicitly and is updated one by one on each pick, as in
 * the loop; it joins its heap when the ramp is over.
 *
 * Cost per pick: O(log n + log D) for D distinct weights (plus O(log D) per
 * tournament certificate that comes due, about one per pick; O(log n + D)
 * for the few weights whose tops are scanned), O(log n) more per tried
 * backend, and O(r) for the r backends in slow start — r = n right after a
 * whole pool came up with slowStart on is the worst case, as costly as the
 * loop. A health change costs O(log n) at the next pick (read from the
 * registry's StateJournal, StrategyOptions.journal), panic mode starting or
 * ending O(n log n) once. Every 2^32 / (largest weight) picks the bases
 * are rebased, O(n), which keeps G·w small enough for doubles to hold
 * every integer sum exactly.
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { EligibleSet } from './eligible-set.js';
import { IndexSet } from './index-set.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';
import { WeightHeaps } from './weight-heaps.js';

/** Where a backend is: not eligible (current weight frozen), in its weight's heap, or ramping (slow start). */
const OUT = 0;
const HEAP = 1;
const RAMP = 2;

/** REBASE_SPAN bounds G × weight, so bases stay exact integers in a double (2^53) with room to spare. */
const REBASE_SPAN = 2 ** 32;

class SmoothWeightedRoundRobin implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #eligible: EligibleSet;
  readonly #kind: Uint8Array;
  /** #value[i] is the base while in a heap, else nginx's current weight. */
  readonly #value: Float64Array;
  /** #heaps holds the backends of constant weight that take part in every pick (kind HEAP). */
  readonly #heaps: WeightHeaps;
  /** #ramp holds the eligible backends in slow start. */
  readonly #ramp: IndexSet;
  /** #gain[i] is what ramping backend i adds in the pick under way. */
  readonly #gain: Float64Array;
  /** #skip marks backends that sit out the pick under way (tried); #skipped lists them, #suspended those taken out of a heap. */
  readonly #skip: Uint8Array;
  readonly #skipped: number[] = [];
  readonly #suspended: number[] = [];
  /** #picks is G, the picks made since the last rebase. */
  #picks = 0;
  readonly #rebaseAt: number;

  constructor(backends: readonly Backend[], journal: StateJournal | undefined) {
    const n = backends.length;
    this.#backends = backends;
    this.#kind = new Uint8Array(n);
    this.#value = new Float64Array(n);
    this.#heaps = new WeightHeaps(backends.map((b) => b.weight), this.#value);
    this.#ramp = new IndexSet(n);
    this.#gain = new Float64Array(n);
    this.#skip = new Uint8Array(n);
    this.#rebaseAt = Math.max(1, Math.floor(REBASE_SPAN / this.#heaps.heaviest));
    this.#eligible = new EligibleSet(backends, journal, (i) => this.#place(i));
    for (let i = 0; i < n; i++) this.#place(i);
  }

  select(ctx: PickContext): Backend | undefined {
    const backends = this.#backends;
    if (backends.length === 0) return undefined;
    const eligible = this.#eligible;
    eligible.sync(ctx.panic === true);
    if (this.#picks >= this.#rebaseAt) this.#rebase();
    const tried = ctx.tried;
    if (tried.size !== 0) for (const b of tried) this.#sitOut(eligible.index.get(b));
    const heaps = this.#heaps;
    const weight = heaps.weight;
    const value = this.#value;
    const gain = this.#gain;
    const ramp = this.#ramp;
    const t = this.#picks + 1;
    let pick = -1;
    let rampTotal = 0;
    for (;;) {
      // Ramping backends: what each would add (nothing is written until the pick is sure).
      let best = -1;
      let bestValue = 0;
      rampTotal = 0;
      for (let k = ramp.size - 1; k >= 0; k--) {
        const i = ramp.at(k);
        if (this.#skip[i] === 1) {
          gain[i] = 0;
          continue;
        }
        const w = (backends[i] as Backend).effectiveWeight();
        if (w >= (weight[i] as number)) {
          this.#place(i); // slow start over: into its heap, current weight kept
          continue;
        }
        gain[i] = w;
        rampTotal += w;
        const v = (value[i] as number) + w;
        if (best < 0 || v > bestValue || (v === bestValue && i < best)) {
          best = i;
          bestValue = v;
        }
      }
      // The heaps' best at time t against the ramping backends' best.
      pick = best;
      const top = heaps.best(t);
      if (top >= 0) {
        const v = (value[top] as number) + t * (weight[top] as number);
        if (best < 0 || v > bestValue || (v === bestValue && top < best)) pick = top;
      }
      if (pick < 0 || isEligible(backends[pick] as Backend, ctx)) break;
      // Cannot happen while every write to health is journaled; if it does, trust isEligible:
      // re-classify the backend, and if the set still holds it, let it sit out this pick.
      eligible.recheck(pick);
      if (eligible.has(pick)) this.#sitOut(pick);
    }
    if (pick >= 0) {
      const total = heaps.total + rampTotal;
      for (let k = 0; k < ramp.size; k++) {
        const i = ramp.at(k);
        value[i] = (value[i] as number) + (gain[i] as number);
        gain[i] = 0;
      }
      value[pick] = (value[pick] as number) - total;
      this.#picks = t;
      if (this.#kind[pick] === HEAP) heaps.lowered(pick, t + 1);
    } else {
      for (let k = 0; k < ramp.size; k++) gain[ramp.at(k)] = 0;
    }
    if (this.#skipped.length !== 0) this.#rejoin(pick >= 0);
    return pick < 0 ? undefined : backends[pick];
  }

  /** #rejoin brings back the backends that sat out the pick; `picked`: a pick was made, so they did not gain. */
  #rejoin(picked: boolean): void {
    const heaps = this.#heaps;
    for (const i of this.#suspended) {
      // The heap representation gave them w for this pick: take it back.
      if (picked) this.#value[i] = (this.#value[i] as number) - (heaps.weight[i] as number);
      heaps.push(i, this.#picks + 1);
    }
    this.#suspended.length = 0;
    for (const i of this.#skipped) this.#skip[i] = 0;
    this.#skipped.length = 0;
  }

  /** #sitOut keeps backend i (if in this pool) out of the pick under way. */
  #sitOut(i: number | undefined): void {
    if (i === undefined || this.#skip[i] === 1) return;
    this.#skip[i] = 1;
    this.#skipped.push(i);
    if (this.#kind[i] !== HEAP) return;
    this.#heaps.remove(i, this.#picks + 1);
    this.#suspended.push(i);
  }

  /**
   * #place puts backend i where the EligibleSet and its slow start say,
   * keeping its current weight: out (frozen), in its heap, or ramping.
   */
  #place(i: number): void {
    const b = this.#backends[i] as Backend;
    const want = !this.#eligible.has(i) ? OUT : b.effectiveWeight() < b.weight ? RAMP : HEAP;
    const was = this.#kind[i];
    if (want === was) return;
    const heaps = this.#heaps;
    const t = this.#picks + 1;
    const shift = this.#picks * (heaps.weight[i] as number);
    if (was === HEAP) {
      this.#value[i] = (this.#value[i] as number) + shift;
      heaps.remove(i, t);
    } else if (was === RAMP) {
      this.#ramp.delete(i);
    }
    this.#kind[i] = want;
    if (want === HEAP) {
      this.#value[i] = (this.#value[i] as number) - shift;
      heaps.push(i, t);
    } else if (want === RAMP) {
      this.#ramp.add(i);
    }
  }

  /** #rebase folds G·w into every base and restarts G at 0 (values unchanged, so are the heaps' orders). */
  #rebase(): void {
    const g = this.#picks;
    const weight = this.#heaps.weight;
    for (let i = 0; i < this.#backends.length; i++) {
      if (this.#kind[i] === HEAP) this.#value[i] = (this.#value[i] as number) + g * (weight[i] as number);
    }
    this.#picks = 0;
    // Re-entering every top re-runs every match of the tournament at the restarted time.
    this.#heaps.restart(1);
  }
}

/** weightedRoundRobin is the `weighted-round-robin` strategy factory (nginx smooth WRR). */
export const weightedRoundRobin = {
  name: 'weighted-round-robin',
  hashes: false,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new SmoothWeightedRoundRobin(backends, options.journal),
} satisfies StrategyFactory;
