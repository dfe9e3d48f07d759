/**
 * StateJournal lists, oldest first, the BackendStates whose `health`,
 * `ejectedUntil` or `upSince` changed: the fields that decide whether a
 * strategy may pick a backend (with `drain`, fixed per generation) and its
 * slow-start weight. Strategies keep indexes of their eligible backends so
 * that a pick is sub-linear, and the Pool keeps its healthy count for panic
 * mode; both read the journal on every pick to stay right, whoever wrote
 * the state: health-state.ts through the Pool, a test, a cluster primary's
 * broadcast. Recording is O(1); the ring holds the last JOURNAL_SIZE
 * changes, and a reader that fell further behind is told so and rescans its
 * backends (O(n), rare: changes are health transitions).
 *
 * Ownership: one journal per BackendRegistry (no process-wide one, so two
 * daemons in one process share nothing). The registry passes it to every
 * BackendState it creates, whose setters record into it, and the Pool hands
 * it to its strategy (StrategyOptions.journal). A BackendState made outside
 * a registry has no journal and records nothing; a strategy given no journal
 * re-checks its backends on every pick instead (O(n), for tests).
 *
 * Why a journal rather than listeners on each state: a BackendState is
 * shared by every generation (and every pool) of its registry that lists its
 * URL, and all their strategies must hear of a change; listeners would have
 * to be removed when a generation retires, which nothing signals. A reader
 * skips the entries of states it does not hold.
 */
import type { BackendState } from './backend.js';

/** JOURNAL_SIZE is how many changes a journal keeps (a power of two). */
const JOURNAL_SIZE = 4096;

/** StateJournal is a ring of the latest BackendState changes of one registry. */
export class StateJournal {
  /** seq counts the changes recorded so far (the position of the next one). */
  seq = 0;
  readonly #ring = new Array<BackendState | undefined>(JOURNAL_SIZE).fill(undefined);

  /** record appends a change of `s`. */
  record(s: BackendState): void {
    this.#ring[this.seq & (JOURNAL_SIZE - 1)] = s;
    this.seq++;
  }

  /**
   * at returns the state changed at position `k` (from <= k < seq), or
   * undefined when the ring no longer holds it (the reader must rescan).
   */
  at(k: number): BackendState | undefined {
    if (k < 0 || k >= this.seq || this.seq - k > JOURNAL_SIZE) return undefined;
    return this.#ring[k & (JOURNAL_SIZE - 1)];
  }

  /** holds tells whether every change from position `from` on is still in the ring. */
  holds(from: number): boolean {
    return this.seq - from <= JOURNAL_SIZE;
  }
}
