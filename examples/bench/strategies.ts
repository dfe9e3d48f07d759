/**
 * Micro-benchmark of the selection strategies: nanoseconds per pick through
 * `Pool.select()` (the path a request takes) at 3, 100 and 1,000 backends,
 * plus sticky-cookie lookups and hash ring build times. Each cell warms up,
 * then times PICKS picks with process.hrtime.bigint (best of ROUNDS rounds,
 * each cut short after ROUND_BUDGET_MS), so the whole run stays well under
 * 30 s even where a pick is O(n).
 *
 * Every pick opens a request on the backend picked (inFlight + 1) and closes
 * one elsewhere, so least-connections and random-two see loads that vary;
 * that bookkeeping (a few ns) is inside the timing for every strategy alike.
 * The hash strategies get keys from a pool of 4,096 client IPs.
 *
 * Run: npx tsx examples/bench/strategies.ts
 */
import { STRATEGY_NAMES, type StrategyName } from '../../src/config/schema.js';
import type { Backend } from '../../src/pool/backend.js';
import { Pool, type PoolDescription } from '../../src/pool/pool.js';
import { BackendRegistry } from '../../src/pool/registry.js';
import { findSticky, stickyId, stickyIndex } from '../../src/pool/sticky.js';
import { createStrategy } from '../../src/pool/strategies/index.js';

const SIZES = [3, 100, 1_000] as const;
const PICKS = 200_000;
const WARMUP = 50_000;
const ROUNDS = 3;
const ROUND_BUDGET_MS = 400;
const KEYS = Array.from({ length: 4096 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

/** seeded returns a small deterministic PRNG (mulberry32), so runs are comparable. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makePool(strategy: StrategyName, size: number): Pool {
  const description: PoolDescription = {
    generation: 1,
    strategy,
    backends: Array.from({ length: size }, (_, i) => ({
      url: `http://10.1.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 3), drain: false,
    })),
    slowStartMs: 0,
    panicBelow: 0,
    probe: { rise: 2, fall: 3 },
    passive: { consecutiveFailures: 5, ejectForMs: 30_000, maxEjectedPercent: 50 },
  };
  const pool = new Pool(description, new BackendRegistry({ now: () => 1_000_000 }), { random: seeded(size) });
  const rnd = seeded(7);
  for (const b of pool.backends) b.traffic.inFlight = Math.floor(rnd() * 4);
  return pool;
}

/**
 * timePicks returns ns per iteration of `pick(i)`: after a warm-up, ROUNDS
 * rounds of up to PICKS picks (each stopped after ROUND_BUDGET_MS), best
 * round kept — the least disturbed by GC and by other processes.
 */
function timePicks(pick: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < WARMUP; i++) sink += pick(i);
  const budget = BigInt(ROUND_BUDGET_MS) * 1_000_000n;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    let done = 0;
    while (done < PICKS) {
      const end = Math.min(PICKS, done + 4096);
      for (let i = done; i < end; i++) sink += pick(i);
      done = end;
      if (process.hrtime.bigint() - start > budget) break;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / done);
  }
  if (sink === -1) console.log(sink); // keep the work observable
  return best;
}

function benchStrategy(name: StrategyName, size: number): number {
  const pool = makePool(name, size);
  const backends = pool.backends;
  const tried: ReadonlySet<Backend> = new Set();
  const hashed = name === 'hash' || name === 'ip-hash';
  return timePicks((i) => {
    const b = pool.select(tried, hashed ? KEYS[i & 4095] : undefined) as Backend;
    b.traffic.inFlight++;
    const other = backends[i % backends.length] as Backend;
    if (other.traffic.inFlight > 0) other.traffic.inFlight--;
    return b.weight;
  });
}

function benchSticky(size: number, indexed: boolean): number {
  const pool = makePool('round-robin', size);
  const ids = pool.backends.map((b) => stickyId(b.url));
  const where = indexed ? stickyIndex(pool.backends) : pool.backends;
  const ctx = { tried: new Set<Backend>() };
  return timePicks((i) => (findSticky(where, ids[i % ids.length] as string, ctx) as Backend).weight);
}

function buildMs(size: number): number {
  const pool = makePool('round-robin', size);
  const start = process.hrtime.bigint();
  const rounds = 5;
  for (let r = 0; r < rounds; r++) createStrategy('hash').create(pool.backends, {});
  return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
}

const rows: [string, ...string[]][] = [];
const t0 = Date.now();
for (const name of STRATEGY_NAMES) rows.push([name, ...SIZES.map((n) => benchStrategy(name, n).toFixed(0))]);
rows.push(['sticky lookup (array)', ...SIZES.map((n) => benchSticky(n, false).toFixed(0))]);
rows.push(['sticky lookup (index)', ...SIZES.map((n) => benchSticky(n, true).toFixed(0))]);

const header = ['ns per pick', ...SIZES.map((n) => `${n} backends`)];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (cells: readonly string[]) =>
  `| ${cells.map((s, c) => (c === 0 ? s.padEnd(widths[c] as number) : s.padStart(widths[c] as number))).join(' | ')} |`;
console.log(`node ${process.version}: best of ${ROUNDS} rounds of ${PICKS.toLocaleString('en')} picks (fewer if over ${ROUND_BUDGET_MS} ms)\n`);
console.log(line(header));
console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(`\nhash ring build (${SIZES.join(' / ')} backends, weights 1-3): ${SIZES.map((n) => `${buildMs(n).toFixed(2)} ms`).join(' / ')}`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
