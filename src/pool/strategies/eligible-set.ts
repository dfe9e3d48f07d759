/**
 * EligibleSet follows which backends of one generation a strategy may pick,
 * the request's tried set apart: not draining, and available — or merely
 * not draining in panic mode (the `isEligible` rule without `tried`). It
 * lets strategies index only eligible backends, so a pick does not scan the
 * pool to find them. The Pool keeps one too, always out of panic mode: its
 * count is the number of healthy, non-draining backends (panic mode's test).
 *
 * How it stays right without being told: the fields `available` depends on
 * are BackendState's health and ejectedUntil (recorded by their setters in
 * the registry's StateJournal, handed in here) plus drain (fixed for the
 * generation) and the clock (ejections end by time: a min-heap of ejection
 * ends catches those). So sync(), called at the start of each pick, costs
 * O(1) when nothing changed, O(k) after k journaled changes, O(n) when
 * panic mode starts or ends or when the journal overran (4,096 changes
 * since the last pick). Without a journal (backends made outside a
 * registry) sync() re-checks every backend: O(n), right all the same.
 * The strategy's `onChange(i)` hears every backend whose state was touched
 * (eligible or not, or its slow start restarted); it must be idempotent.
 */
import type { Backend, BackendState } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { BitSet } from './bit-set.js';

/** EligibleSet is the set of backends a strategy may pick, kept up to date from the registry's state journal. */
export class EligibleSet {
  readonly backends: readonly Backend[];
  /** members holds the index of every eligible backend, as of the last sync(). */
  readonly members: BitSet;
  /** index maps each backend of the generation to its position in `backends`. */
  readonly index: Map<Backend, number>;
  readonly #byState = new Map<BackendState, number | number[]>();
  readonly #onChange: (i: number) => void;
  /** #journal is where the backends' states record their changes (undefined: re-check all on each sync). */
  readonly #journal: StateJournal | undefined;
  #panic = false;
  /** #seq is the journal position read up to. */
  #seq: number;
  /** #endAt / #endIdx: a binary min-heap of (ejection end, backend index) for backends out only by an ejection. */
  readonly #endAt: number[] = [];
  readonly #endIdx: number[] = [];

  /**
   * `journal` must be the one every backend's state records into (the
   * registry's); a state recording elsewhere, or nowhere, would change
   * unseen, so that is refused. Undefined: no journal, re-check on each sync.
   */
  constructor(backends: readonly Backend[], journal: StateJournal | undefined, onChange: (i: number) => void = () => {}) {
    this.backends = backends;
    this.members = new BitSet(backends.length);
    this.index = new Map(backends.map((b, i) => [b, i]));
    this.#onChange = onChange;
    this.#journal = journal;
    this.#seq = journal?.seq ?? 0;
    backends.forEach((b, i) => {
      if (journal !== undefined && b.state.journal !== journal) {
        throw new Error(`backend ${b.url}: its state records its changes in another journal than the one given`);
      }
      const seen = this.#byState.get(b.state);
      if (seen === undefined) this.#byState.set(b.state, i);
      else this.#byState.set(b.state, typeof seen === 'number' ? [seen, i] : [...seen, i]);
      this.#classify(i);
    });
  }

  /** count is the number of eligible backends. */
  get count(): number {
    return this.members.count;
  }

  /** has tells whether backends[i] is eligible (tried apart). */
  has(i: number): boolean {
    return this.members.has(i);
  }

  /** sync brings the set up to date for a pick in or out of panic mode. */
  sync(panic: boolean): void {
    const journal = this.#journal;
    if (panic !== this.#panic || journal === undefined) {
      this.#panic = panic;
      this.#recheckAll();
    } else if (journal.seq !== this.#seq) {
      this.#readJournal(journal);
    }
    if (this.#endAt.length !== 0 && !panic) this.#expire();
  }

  /**
   * recheck classifies backends[i] again and tells the strategy. Strategies
   * call it when a backend they were about to return fails `isEligible`
   * (which the journal makes impossible; the guard keeps a missed write from
   * ever sending a request to a down backend).
   */
  recheck(i: number): void {
    this.#classify(i);
    this.#onChange(i);
  }

  /** triedMembers counts the backends of `tried` that are members (they are eligible but for this request). */
  triedMembers(tried: ReadonlySet<Backend>): number {
    let k = 0;
    for (const b of tried) {
      const i = this.index.get(b);
      if (i !== undefined && this.members.has(i)) k++;
    }
    return k;
  }

  #classify(i: number): void {
    const b = this.backends[i] as Backend;
    const on = !b.draining && (this.#panic || b.available);
    if (on) {
      this.members.add(i);
      return;
    }
    this.members.delete(i);
    const s = b.state;
    if (!this.#panic && !b.draining && s.health === 'up' && s.ejectedUntil > 0) this.#pushEnd(s.ejectedUntil, i);
  }

  #readJournal(journal: StateJournal): void {
    const end = journal.seq;
    if (!journal.holds(this.#seq)) {
      this.#recheckAll();
      return;
    }
    for (let k = this.#seq; k < end; k++) {
      const at = this.#byState.get(journal.at(k) as BackendState);
      if (at === undefined) continue;
      if (typeof at === 'number') this.recheck(at);
      else for (const i of at) this.recheck(i);
    }
    this.#seq = end;
  }

  #recheckAll(): void {
    this.#seq = this.#journal?.seq ?? 0;
    this.#endAt.length = 0;
    this.#endIdx.length = 0;
    for (let i = 0; i < this.backends.length; i++) this.recheck(i);
  }

  /**
   * #expire re-admits backends whose ejection ended by the clock. The Pool
   * clears ended ejections before each pick (a journaled write), so this
   * matters for a strategy used without a Pool; it costs one clock read per
   * pick while some ejection is in force.
   */
  #expire(): void {
    while (this.#endAt.length !== 0) {
      const at = this.#endAt[0] as number;
      const i = this.#endIdx[0] as number;
      const b = this.backends[i] as Backend;
      const current = b.state.ejectedUntil === at && b.state.health === 'up';
      if (current && !b.healthy) return; // the earliest ejection is still in force, so are the others
      this.#popEnd();
      if (current) this.recheck(i);
    }
  }

  #pushEnd(at: number, i: number): void {
    const endAt = this.#endAt;
    const endIdx = this.#endIdx;
    let k = endAt.length;
    endAt.push(at);
    endIdx.push(i);
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if ((endAt[parent] as number) <= at) break;
      endAt[k] = endAt[parent] as number;
      endIdx[k] = endIdx[parent] as number;
      k = parent;
    }
    endAt[k] = at;
    endIdx[k] = i;
  }

  #popEnd(): void {
    const endAt = this.#endAt;
    const endIdx = this.#endIdx;
    const at = endAt.pop() as number;
    const i = endIdx.pop() as number;
    const n = endAt.length;
    if (n === 0) return;
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= n) break;
      if (child + 1 < n && (endAt[child + 1] as number) < (endAt[child] as number)) child++;
      if ((endAt[child] as number) >= at) break;
      endAt[k] = endAt[child] as number;
      endIdx[k] = endIdx[child] as number;
      k = child;
    }
    endAt[k] = at;
    endIdx[k] = i;
  }
}
