/**
 * WeightHeaps: the index behind weighted round robin (weighted-round-robin.ts
 * explains the representation). Backend i, while present, has a constant
 * weight w[i] and a base b[i]; its current weight at pick T is b[i] + T·w[i].
 * Backends of one weight keep their order as T grows, so each distinct
 * weight has a binary max-heap by base (ties to the smaller index); across
 * weights the order changes with T, so the heaps' tops are the lines of a
 * KineticTournament (with at most SCAN_TOPS weights the tops are simply
 * compared). best(T) is then the backend with the largest current weight
 * at T, ties to the smaller index: what nginx's loop takes.
 *
 * Costs: push, remove and lowered (after a base decrease) O(log n) in the
 * heap plus O(log D) in the tournament, D the distinct weights; best(T)
 * O(D) up to SCAN_TOPS weights, else O(1) plus O(log D) per tournament
 * certificate due. The bases live in an array the caller owns (`value`),
 * which holds other numbers for backends not in a heap.
 */
import { KineticTournament } from './kinetic-tournament.js';

/**
 * SCAN_TOPS is the most distinct weights whose heap tops are simply
 * compared on each pick; beyond it the KineticTournament takes over. Its
 * upkeep costs more than a scan of a few tops: with three weights, 65 ns
 * against 29 ns per select() (Node 20, weighted round robin alone).
 */
const SCAN_TOPS = 8;

/** WeightHeaps keeps one max-heap by base per distinct weight, and the best of their tops at a pick T. */
export class WeightHeaps {
  /** weight[i] is backend i's (constant) weight; heaviest the largest of them (at least 1). */
  readonly weight: Float64Array;
  readonly heaviest: number;
  /** total is the weight of the backends in the heaps (all of them take part in the next pick). */
  total = 0;
  /** #value[i] is backend i's base while it is in a heap (the caller's array). */
  readonly #value: Float64Array;
  /** #cls[i] is the heap (distinct weight) of backend i. */
  readonly #cls: Int32Array;
  /** The heaps share one array: heap c is #heap[#heapStart[c] .. + #heapLen[c]]; #pos[i] is i's slot or -1. */
  readonly #heap: Int32Array;
  readonly #heapStart: Int32Array;
  readonly #heapLen: Int32Array;
  readonly #pos: Int32Array;
  /** #tops orders the heaps' tops when there are more than SCAN_TOPS weights (undefined: scan them). */
  readonly #tops: KineticTournament | undefined;

  constructor(weights: ArrayLike<number>, value: Float64Array) {
    const n = weights.length;
    this.weight = Float64Array.from(weights);
    this.#value = value;
    const classOf = new Map<number, number>();
    const sizes: number[] = [];
    this.#cls = Int32Array.from(this.weight, (w) => {
      let c = classOf.get(w);
      if (c === undefined) {
        c = sizes.length;
        classOf.set(w, c);
        sizes.push(0);
      }
      sizes[c] = (sizes[c] as number) + 1;
      return c;
    });
    this.#heapStart = new Int32Array(sizes.length);
    for (let c = 1; c < sizes.length; c++) this.#heapStart[c] = (this.#heapStart[c - 1] as number) + (sizes[c - 1] as number);
    this.#heapLen = new Int32Array(sizes.length);
    this.#heap = new Int32Array(n);
    this.#pos = new Int32Array(n).fill(-1);
    this.#tops = sizes.length > SCAN_TOPS ? new KineticTournament([...classOf.keys()]) : undefined;
    let heaviest = 1;
    for (const w of classOf.keys()) heaviest = Math.max(heaviest, w);
    this.heaviest = heaviest;
  }

  /**
   * best returns the backend with the largest current weight at pick t
   * (base + t·weight), ties to the smaller index, or -1 when the heaps are empty.
   */
  best(t: number): number {
    const value = this.#value;
    const weight = this.weight;
    const tops = this.#tops;
    if (tops !== undefined) {
      const c = tops.max(t);
      return c < 0 ? -1 : (this.#heap[this.#heapStart[c] as number] as number);
    }
    let pick = -1;
    let bestValue = 0;
    for (let c = 0; c < this.#heapLen.length; c++) {
      if (this.#heapLen[c] === 0) continue;
      const top = this.#heap[this.#heapStart[c] as number] as number;
      const v = (value[top] as number) + t * (weight[top] as number);
      if (pick < 0 || v > bestValue || (v === bestValue && top < pick)) {
        pick = top;
        bestValue = v;
      }
    }
    return pick;
  }

  /** push adds i (its base already in `value`) to its heap, as of pick t. */
  push(i: number, t: number): void {
    const c = this.#cls[i] as number;
    const k = this.#heapLen[c] as number;
    this.#heapLen[c] = k + 1;
    this.total += this.weight[i] as number;
    this.#siftUp(c, k, i);
    this.#top(c, t);
  }

  /** remove takes i out of its heap, as of pick t. */
  remove(i: number, t: number): void {
    const c = this.#cls[i] as number;
    const base = this.#heapStart[c] as number;
    const k = (this.#pos[i] as number) - base;
    const len = (this.#heapLen[c] as number) - 1;
    this.#heapLen[c] = len;
    this.total -= this.weight[i] as number;
    this.#pos[i] = -1;
    const last = this.#heap[base + len] as number;
    if (last !== i) {
      this.#siftUp(c, k, last);
      if (this.#pos[last] === base + k) this.#siftDown(last);
    }
    this.#top(c, t);
  }

  /** lowered moves i, whose base was just lowered, down to its place in its heap, as of pick t. */
  lowered(i: number, t: number): void {
    this.#siftDown(i);
    this.#top(this.#cls[i] as number, t);
  }

  /**
   * restart re-enters every heap's top in the tournament at pick t, after
   * the caller rebased every base (which restarts the clock at an earlier t).
   */
  restart(t: number): void {
    for (let c = 0; c < this.#heapLen.length; c++) this.#top(c, t);
  }

  /** #top tells the tournament (if any) about heap c's top, as of pick t. */
  #top(c: number, t: number): void {
    const tops = this.#tops;
    if (tops === undefined) return;
    if (this.#heapLen[c] === 0) {
      tops.remove(c, t);
      return;
    }
    const top = this.#heap[this.#heapStart[c] as number] as number;
    tops.set(c, this.#value[top] as number, top, t);
  }

  /** #above tells whether i goes above j in a heap: larger base, or equal and listed first. */
  #above(i: number, j: number): boolean {
    const vi = this.#value[i] as number;
    const vj = this.#value[j] as number;
    return vi > vj || (vi === vj && i < j);
  }

  #siftUp(c: number, k: number, i: number): void {
    const heap = this.#heap;
    const base = this.#heapStart[c] as number;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      const p = heap[base + parent] as number;
      if (!this.#above(i, p)) break;
      heap[base + k] = p;
      this.#pos[p] = base + k;
      k = parent;
    }
    heap[base + k] = i;
    this.#pos[i] = base + k;
  }

  /** #siftDown moves i (already in its heap, its base lowered) down to its place. */
  #siftDown(i: number): void {
    const heap = this.#heap;
    const c = this.#cls[i] as number;
    const base = this.#heapStart[c] as number;
    const len = this.#heapLen[c] as number;
    let k = (this.#pos[i] as number) - base;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= len) break;
      if (child + 1 < len && this.#above(heap[base + child + 1] as number, heap[base + child] as number)) child++;
      const ch = heap[base + child] as number;
      if (!this.#above(ch, i)) break;
      heap[base + k] = ch;
      this.#pos[ch] = base + k;
      k = child;
    }
    heap[base + k] = i;
    this.#pos[i] = base + k;
  }
}
