/**
 * KineticTournament keeps the maximum of D lines `value(c, T) = a[c] +
 * T·slope[c]` as the integer time T grows, ties going to the smaller
 * `tie[c]` (a kinetic tournament, Basch, Guibas and Hershberger's kinetic
 * data structures). A complete binary tree over the lines stores at each
 * node the winner of its subtree at the current time and a certificate: the
 * first time the loser of that match overtakes the winner (never when its
 * slope is not larger). Reading the maximum at T first replays the
 * certificates due by T, deepest first, each re-running the matches on its
 * path to the root; changing a line re-runs its path.
 *
 * Costs: a change O(log D); a read O(1) plus O(log D) per certificate due.
 * A line overtakes another only after that one changed, so certificates
 * come due at most about as often as lines change, times the depth: in
 * weighted round robin about one change per pick, O(log D) amortised.
 * Times passed in must never decrease, except that setting every line
 * anew at an earlier time restarts the clock (every match is re-run).
 *
 * The intersection time is computed in floating point and then checked with
 * the same comparison reads use, so the tree agrees with itself exactly.
 */

/** KineticTournament is the maximum of D lines a + T·slope over a growing integer time T. */
export class KineticTournament {
  readonly a: Float64Array;
  readonly tie: Float64Array;
  readonly #slope: Float64Array;
  /** #leaves is the number of leaves (a power of two >= 2); node 1 is the root, node #leaves + c line c. */
  readonly #leaves: number;
  /** #win[node] is the winning line of the node's subtree, -1 if none is present. */
  readonly #win: Int32Array;
  /** #cert[node] is when the node's winner may change; #due[node] the least #cert in its subtree. */
  readonly #cert: Float64Array;
  readonly #due: Float64Array;

  constructor(slopes: ArrayLike<number>) {
    const d = slopes.length;
    let leaves = 2;
    while (leaves < d) leaves *= 2;
    this.#leaves = leaves;
    this.#slope = Float64Array.from(slopes);
    this.a = new Float64Array(d);
    this.tie = new Float64Array(d);
    this.#win = new Int32Array(2 * leaves).fill(-1);
    this.#cert = new Float64Array(leaves).fill(Number.POSITIVE_INFINITY);
    this.#due = new Float64Array(leaves).fill(Number.POSITIVE_INFINITY);
  }

  /** set makes line c present with intercept `a` and tie key `tie`, at time `t`. */
  set(c: number, a: number, tie: number, t: number): void {
    this.a[c] = a;
    this.tie[c] = tie;
    this.#win[this.#leaves + c] = c;
    this.#repair((this.#leaves + c) >> 1, t);
  }

  /** remove takes line c out, at time `t`. */
  remove(c: number, t: number): void {
    this.#win[this.#leaves + c] = -1;
    this.#repair((this.#leaves + c) >> 1, t);
  }

  /** max returns the line with the greatest value at time `t` (ties to the smaller tie key), or -1. */
  max(t: number): number {
    const due = this.#due;
    const leaves = this.#leaves;
    while ((due[1] as number) <= t) {
      let k = 1;
      for (;;) {
        const l = 2 * k;
        if (l < leaves && (due[l] as number) <= t) k = l;
        else if (l + 1 < leaves && (due[l + 1] as number) <= t) k = l + 1;
        else break;
      }
      this.#repair(k, t);
    }
    return this.#win[1] as number;
  }

  /** beats tells whether line x is ahead of line y at time t. */
  beats(x: number, y: number, t: number): boolean {
    const vx = (this.a[x] as number) + t * (this.#slope[x] as number);
    const vy = (this.a[y] as number) + t * (this.#slope[y] as number);
    return vx > vy || (vx === vy && (this.tie[x] as number) < (this.tie[y] as number));
  }

  /** #repair re-runs the matches from node k up to the root at time t. */
  #repair(k: number, t: number): void {
    for (; k >= 1; k >>= 1) this.#match(k, t);
  }

  #match(k: number, t: number): void {
    const l = this.#win[2 * k] as number;
    const r = this.#win[2 * k + 1] as number;
    let cert = Number.POSITIVE_INFINITY;
    let win: number;
    if (l < 0) win = r;
    else if (r < 0) win = l;
    else if (this.beats(l, r, t)) {
      win = l;
      cert = this.#overtake(r, l, t);
    } else {
      win = r;
      cert = this.#overtake(l, r, t);
    }
    this.#win[k] = win;
    this.#cert[k] = cert;
    const l2 = 2 * k;
    this.#due[k] = l2 < this.#leaves ? Math.min(cert, this.#due[l2] as number, this.#due[l2 + 1] as number) : cert;
  }

  /**
   * #overtake returns the first time after t at which `loser` beats
   * `winner` (it does not at t), or Infinity. The estimate from the
   * intersection is exact or off by one; a bracket and bisection settle it
   * with beats() whatever rounding did.
   */
  #overtake(loser: number, winner: number, t: number): number {
    const gain = (this.#slope[loser] as number) - (this.#slope[winner] as number);
    if (!(gain > 0)) return Number.POSITIVE_INFINITY;
    let e = Math.floor(((this.a[winner] as number) - (this.a[loser] as number)) / gain);
    if (!(e > t)) e = t + 1;
    let lo: number; // loser does not beat winner at lo
    let hi: number; // loser beats winner at hi
    if (this.beats(loser, winner, e)) {
      if (e - 1 <= t || !this.beats(loser, winner, e - 1)) return e;
      lo = t;
      hi = e - 1;
    } else {
      lo = e;
      let step = 1;
      while (!this.beats(loser, winner, e + step)) {
        lo = e + step;
        step *= 2;
        if (e + step > Number.MAX_SAFE_INTEGER) return Number.POSITIVE_INFINITY;
      }
      hi = e + step;
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.beats(loser, winner, mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  }
}
