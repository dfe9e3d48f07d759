/**
 * ip-hash and hash: consistent hashing on a ring with virtual nodes (Karger
 * et al.; nginx `hash … consistent`, i.e. ketama). Each backend puts
 * POINTS_PER_WEIGHT points per unit of weight on a 32-bit ring, at the
 * hashes of "<url>#<i>"; a request key hashes to a position and goes to the
 * owner of the first point clockwise from it (binary search). Because points
 * depend only on the backend's URL, adding or removing one of N backends
 * moves about 1/N of the keys, and only those that belonged to it (or now
 * belong to the newcomer).
 *
 * A key whose backend is not eligible (down, draining, already tried) walks
 * clockwise to the next point owned by a distinct eligible backend: only the
 * keys of the missing backend move, each to its ring neighbour, and they come
 * back when it does. The ring is built once per pool generation in create().
 * Weights are the configured ones: slow start does not reshape the ring (a
 * ring that changed with time would move keys all the time).
 *
 * Cost per pick: one string hash of the key (O(key length)) plus a binary
 * search, O(log P) over P = 160 × total weight points (at most about a
 * million). The walk past ineligible backends does not visit their points:
 * a BitSet over the ring marks the points of eligible backends (kept in step
 * with an EligibleSet), and the next live point is its successor query,
 * O(log32 P); only points of the request's tried backends are stepped over
 * one by one. A backend going down or up is only noted (O(1)); the next walk
 * flips the P/n points of the backends whose state differs from the marks
 * (a backend that went down and came back between two walks costs nothing).
 * Build: O(P log P). A request without a key (ctx.key undefined) falls back
 * to round robin.
 *
 * The hash is FNV-1a 32 over UTF-16 code units followed by murmur3's fmix32
 * finaliser (FNV-1a alone clusters points for strings that differ only in
 * their last characters, as "url#1", "url#2" do). node:crypto's
 * createHash('md5') measured about 2.4 µs per call here on Node 20; this
 * hash takes about 15 ns for an IPv4 address.
 */
import type { Backend } from '../backend.js';
import type { StateJournal } from '../state-journal.js';
import { BitSet } from './bit-set.js';
import { EligibleSet } from './eligible-set.js';
import { roundRobin } from './round-robin.js';
import { isEligible, type PickContext, type Strategy, type StrategyFactory, type StrategyOptions } from './strategy.js';

/** POINTS_PER_WEIGHT is the number of ring points per unit of weight (ketama uses 160 per server). */
const POINTS_PER_WEIGHT = 160;
/** MAX_RING_POINTS caps the ring: with a large total weight, fewer points per unit are used. */
const MAX_RING_POINTS = 1 << 20;
/** OWNER_SPAN packs (point hash, owner index) into one exact double for a typed-array sort. */
const OWNER_SPAN = 2 ** 21;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * hash32 is FNV-1a over the UTF-16 code units of `s`, finished with murmur3's
 * fmix32 so that every input bit reaches every output bit. `seed` replaces
 * the FNV offset basis (sticky ids use two seeds for 64 bits). Returns an
 * unsigned 32-bit integer. Not cryptographic.
 */
export function hash32(s: string, seed: number = FNV_OFFSET): number {
  return fmix32(fnv1a(seed | 0, s));
}

/** fnv1a continues an FNV-1a state `h` over the UTF-16 code units of `s`. */
function fnv1a(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}

/** fmix32 is murmur3's finaliser: a bijection on 32 bits with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * pointHash equals hash32(`${prefix}${i}`) for a prefix already folded into
 * the FNV state `state`, without building the string (the ring has up to a
 * million points to hash).
 */
function pointHash(state: number, i: number): number {
  let div = 1;
  while (div * 10 <= i) div *= 10;
  let h = state;
  for (; div >= 1; div /= 10) {
    h ^= 48 + (Math.floor(i / div) % 10);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/**
 * Ring is the sorted ring: points[k] is a position, owners[k] the index of
 * its backend; byOwner lists the ring indexes of backend i's points at
 * byOwner[ownerStart[i]] up to byOwner[ownerStart[i + 1]].
 */
interface Ring {
  points: Uint32Array;
  owners: Uint32Array;
  ownerStart: Uint32Array;
  byOwner: Uint32Array;
}

function buildRing(backends: readonly Backend[]): Ring {
  if (backends.length >= OWNER_SPAN) throw new RangeError(`hash ring: too many backends (${backends.length})`);
  let totalWeight = 0;
  for (const b of backends) totalWeight += b.weight;
  const perUnit = Math.max(1, Math.min(POINTS_PER_WEIGHT, Math.floor(MAX_RING_POINTS / Math.max(1, totalWeight))));
  const counts = backends.map((b) => Math.max(1, Math.round(perUnit * b.weight)));
  const size = counts.reduce((a, c) => a + c, 0);
  const packed = new Float64Array(size);
  let k = 0;
  backends.forEach((b, owner) => {
    const count = counts[owner] as number;
    const state = fnv1a(FNV_OFFSET, `${b.url}#`);
    for (let i = 0; i < count; i++) packed[k++] = pointHash(state, i) * OWNER_SPAN + owner;
  });
  packed.sort();
  const points = new Uint32Array(size);
  const owners = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    const v = packed[i] as number;
    const owner = v % OWNER_SPAN;
    owners[i] = owner;
    points[i] = (v - owner) / OWNER_SPAN;
  }
  const ownerStart = new Uint32Array(backends.length + 1);
  for (let i = 0; i < backends.length; i++) ownerStart[i + 1] = (ownerStart[i] as number) + (counts[i] as number);
  const fill = ownerStart.slice(0, backends.length);
  const byOwner = new Uint32Array(size);
  for (let k = 0; k < size; k++) {
    const owner = owners[k] as number;
    byOwner[fill[owner] as number] = k;
    fill[owner] = (fill[owner] as number) + 1;
  }
  return { points, owners, ownerStart, byOwner };
}

class ConsistentHash implements Strategy {
  readonly #backends: readonly Backend[];
  readonly #ring: Ring;
  readonly #eligible: EligibleSet;
  /** #live marks the ring indexes whose owner is in the EligibleSet. */
  readonly #live: BitSet;
  /** #lit[i] is 1 while backend i's points are marked in #live. */
  readonly #lit: Uint8Array;
  /** #stale lists the backends whose marks may differ from the EligibleSet (#queued[i] = 1 while listed). */
  readonly #stale: number[] = [];
  readonly #queued: Uint8Array;
  readonly #fallback: Strategy;

  constructor(backends: readonly Backend[], journal: StateJournal | undefined) {
    this.#backends = backends;
    this.#ring = buildRing(backends);
    this.#live = new BitSet(this.#ring.points.length);
    this.#lit = new Uint8Array(backends.length);
    this.#queued = new Uint8Array(backends.length);
    this.#eligible = new EligibleSet(backends, journal, (i) => this.#note(i));
    for (let i = 0; i < backends.length; i++) this.#light(i);
    this.#fallback = roundRobin.create(backends, { journal });
  }

  select(ctx: PickContext): Backend | undefined {
    if (ctx.key === undefined) return this.#fallback.select(ctx);
    const backends = this.#backends;
    const { points, owners } = this.#ring;
    const size = points.length;
    if (size === 0) return undefined;
    this.#eligible.sync(ctx.panic === true);
    const h = hash32(ctx.key);
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const idx = lo === size ? 0 : lo;
    const first = backends[owners[idx] as number] as Backend;
    if (isEligible(first, ctx)) return first;
    return this.#walk(ctx, idx);
  }

  /**
   * #walk goes clockwise from ring index `idx` to the first point of an
   * eligible backend: the same backend as visiting every point in turn,
   * without visiting the points of ineligible ones.
   */
  #walk(ctx: PickContext, idx: number): Backend | undefined {
    const backends = this.#backends;
    const owners = this.#ring.owners;
    const live = this.#live;
    const eligible = this.#eligible;
    const tried = ctx.tried;
    const triedIn = tried.size === 0 ? 0 : eligible.triedMembers(tried);
    if (eligible.count <= triedIn) return undefined;
    for (const i of this.#stale) {
      this.#queued[i] = 0;
      this.#light(i);
    }
    this.#stale.length = 0;
    // An untried eligible backend exists, so this ends after stepping over the tried ones' points.
    for (;;) {
      let k = live.next(idx + 1);
      if (k < 0) k = live.next(0);
      if (k < 0) return undefined;
      const owner = owners[k] as number;
      const b = backends[owner] as Backend;
      if (tried.size !== 0 && tried.has(b)) {
        idx = k;
        continue;
      }
      if (isEligible(b, ctx)) return b;
      // Cannot happen while every write to health is journaled; if it does, trust isEligible.
      eligible.recheck(owner);
      return this.#scan(ctx, idx);
    }
  }

  /** #scan visits every point clockwise from `idx`: the O(P) fallback should the set ever disagree with isEligible. */
  #scan(ctx: PickContext, idx: number): Backend | undefined {
    const owners = this.#ring.owners;
    for (let step = 1; step < owners.length; step++) {
      const b = this.#backends[owners[(idx + step) % owners.length] as number] as Backend;
      if (isEligible(b, ctx)) return b;
    }
    return undefined;
  }

  /** #note lists backend i for the next walk to bring its marks up to date. */
  #note(i: number): void {
    if (this.#queued[i] === 1) return;
    this.#queued[i] = 1;
    this.#stale.push(i);
  }

  /** #light marks or unmarks backend i's ring points to match the EligibleSet. */
  #light(i: number): void {
    const on = this.#eligible.has(i);
    if ((this.#lit[i] === 1) === on) return;
    this.#lit[i] = on ? 1 : 0;
    const { ownerStart, byOwner } = this.#ring;
    const live = this.#live;
    const end = ownerStart[i + 1] as number;
    for (let k = ownerStart[i] as number; k < end; k++) {
      if (on) live.add(byOwner[k] as number);
      else live.delete(byOwner[k] as number);
    }
  }
}

/** ipHash is the `ip-hash` strategy factory: the consistent-hash ring keyed by the client IP. */
export const ipHash = {
  name: 'ip-hash',
  hashes: true,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new ConsistentHash(backends, options.journal),
} satisfies StrategyFactory;

/** hash is the `hash` strategy factory: the consistent-hash ring keyed by `hashKey` (ip, header, cookie or query). */
export const hash = {
  name: 'hash',
  hashes: true,
  create: (backends: readonly Backend[], options: StrategyOptions = {}) => new ConsistentHash(backends, options.journal),
} satisfies StrategyFactory;
