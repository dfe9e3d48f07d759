/**
 * BitSet is a set of integers 0..size-1 kept as a hierarchy of 32-bit words
 * (a 32-ary summary tree, as in van Emde Boas layouts and Linux's
 * sbitmap): level 0 holds one bit per member, and each bit of level k+1
 * says whether the matching word of level k is non-zero. add, delete and
 * has cost O(1) (add and delete climb only while a word turns empty or
 * non-empty); next(i), the smallest member >= i, costs O(log32 size): three
 * levels cover 32,768 integers, four cover a million. Strategies use it to
 * walk only eligible backends (round robin) or ring points (hash).
 */

/** lowBit returns the index of the lowest set bit of a non-zero 32-bit word. */
function lowBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** BitSet is a hierarchical bitmap over 0..size-1 with an O(log32 size) successor query. */
export class BitSet {
  readonly size: number;
  /** count is the number of members. */
  count = 0;
  readonly #levels: Uint32Array[] = [];

  constructor(size: number) {
    this.size = size;
    let len = size;
    do {
      len = Math.max(1, Math.ceil(len / 32));
      this.#levels.push(new Uint32Array(len));
    } while (len > 1);
  }

  /** has tells whether `i` is a member. */
  has(i: number): boolean {
    return (((this.#levels[0] as Uint32Array)[i >>> 5] as number) & (1 << (i & 31))) !== 0;
  }

  /** add makes `i` a member. */
  add(i: number): void {
    if (this.has(i)) return;
    this.count++;
    for (const level of this.#levels) {
      const w = i >>> 5;
      const before = level[w] as number;
      level[w] = before | (1 << (i & 31));
      if (before !== 0) return;
      i = w;
    }
  }

  /** delete removes `i`. */
  delete(i: number): void {
    if (!this.has(i)) return;
    this.count--;
    for (const level of this.#levels) {
      const w = i >>> 5;
      const after = (level[w] as number) & ~(1 << (i & 31));
      level[w] = after;
      if (after !== 0) return;
      i = w;
    }
  }

  /** next returns the smallest member >= i, or -1 when there is none. */
  next(i: number): number {
    if (i >= this.size) return -1;
    const levels = this.#levels;
    let pos = i < 0 ? 0 : i;
    let k = 0;
    // Climb until a level has a set bit at or after pos.
    for (; k < levels.length; k++) {
      const level = levels[k] as Uint32Array;
      const w = pos >>> 5;
      if (w >= level.length) return -1;
      const bits = (level[w] as number) & (~0 << (pos & 31));
      if (bits !== 0) {
        pos = (w << 5) | lowBit(bits);
        break;
      }
      pos = w + 1;
    }
    if (k === levels.length) return -1;
    // Descend along the lowest set bits.
    for (k--; k >= 0; k--) pos = (pos << 5) | lowBit((levels[k] as Uint32Array)[pos] as number);
    return pos;
  }

  /** clear removes every member. */
  clear(): void {
    for (const level of this.#levels) level.fill(0);
    this.count = 0;
  }
}
