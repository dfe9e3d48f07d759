/**
 * IndexSet is a set of backend indexes 0..capacity-1 kept as a dense array
 * (swap-remove), so adding, removing and membership are O(1) and the members
 * can be walked or drawn from by position. Removing moves the last member
 * into the freed place; walking from the end down is safe while removing the
 * member just visited.
 */
export class IndexSet {
  readonly #items: Int32Array;
  /** #pos[i] is i's place in #items, or -1. */
  readonly #pos: Int32Array;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
  }

  /** size is the number of members. */
  get size(): number {
    return this.#size;
  }

  /** at returns the member at place k (0 ≤ k < size). */
  at(k: number): number {
    return this.#items[k] as number;
  }

  /** has tells whether i is a member. */
  has(i: number): boolean {
    return (this.#pos[i] as number) >= 0;
  }

  /** add makes i a member (no-op when it is one). */
  add(i: number): void {
    if (this.has(i)) return;
    this.#items[this.#size] = i;
    this.#pos[i] = this.#size++;
  }

  /** delete removes i (no-op when it is not a member). */
  delete(i: number): void {
    const at = this.#pos[i] as number;
    if (at < 0) return;
    const last = this.#items[--this.#size] as number;
    this.#items[at] = last;
    this.#pos[last] = at;
    this.#pos[i] = -1;
  }
}
