/**
 * Micro-benchmark of the selection strategies: microseconds per pick through
 * `Pool.select()` (the path a request takes) at 3, 100, 1,000 and 10,000
 * backends, then four harder cases at 10,000 backends:
 * - 1% down: 100 backends down, scattered;
 * - 99% down: only 100 backends up, scattered;
 * - retry: every pick has one backend already tried (the previous pick);
 * - churn: before every pick one backend goes down and the one taken down
 *   ten picks earlier comes back (two health changes per pick, ten down);
 * - slow start: every backend came up 1 s into a 10 s slowStart ramp (the
 *   worst case of the weighted strategies: every weight moves with time).
 * Plus sticky-cookie lookups and hash ring build times.
 *
 * Each cell warms up (WARMUP picks or WARMUP_BUDGET_MS, whichever ends
 * first), then times PICKS picks with process.hrtime.bigint (best of ROUNDS
 * rounds, each cut short after ROUND_BUDGET_MS), so the whole run stays
 * within a minute or two even where a pick is O(n).
 *
 * Every pick opens an attempt on the backend picked (Pool.begin) and ends one
 * elsewhere (Pool.end), so least-connections and random-two see loads that
 * vary; that bookkeeping (a few ns) is inside the timing for every strategy
 * alike. The hash strategies get keys from a pool of 4,096 client IPs.
 *
 * Run under the shared benchmark lock: flock /tmp/bench.lock npm run bench:strategies
 */
import { STRATEGY_NAMES, type StrategyName } from '../../src/config/schema.js';
import type { Backend } from '../../src/pool/backend.js';
import { Pool, type PoolDescription } from '../../src/pool/pool.js';
import { BackendRegistry } from '../../src/pool/registry.js';
import { findSticky, stickyId, stickyIndex } from '../../src/pool/sticky.js';
import { createStrategy } from '../../src/pool/strategies/index.js';
import { mulberry32 } from '../../test/helpers/random.js';

const SIZES = [3, 100, 1_000, 10_000] as const;
const BIG = 10_000;
const PICKS = 200_000;
const WARMUP = 50_000;
const WARMUP_BUDGET_MS = 200;
const ROUNDS = 3;
const ROUND_BUDGET_MS = 400;
const KEYS = Array.from({ length: 4096 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

/** Scenario is one column: a pool size and what happens to its backends. */
interface Scenario {
  title: string;
  size: number;
  /** down: share of backends down before the first pick (scattered). */
  down?: number;
  retry?: boolean;
  churn?: boolean;
  slowStart?: boolean;
}

const SCENARIOS: Scenario[] = [
  ...SIZES.map((size) => ({ title: size.toLocaleString('en'), size })),
  { title: '10k 1% down', size: BIG, down: 0.01 },
  { title: '10k 99% down', size: BIG, down: 0.99 },
  { title: '10k retry', size: BIG, retry: true },
  { title: '10k churn', size: BIG, churn: true },
  { title: '10k slow start', size: BIG, slowStart: true },
];

/** seeded returns a small deterministic PRNG (mulberry32, shared with the tests), so runs are comparable. */
const seeded = mulberry32;

/** shuffled returns 0..n-1 in a seeded random order. */
function shuffled(n: number, seed: number): number[] {
  const rnd = seeded(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

function makePool(strategy: StrategyName, s: Scenario): Pool {
  const clock = 1_000_000;
  const description: PoolDescription = {
    generation: 1,
    strategy,
    backends: Array.from({ length: s.size }, (_, i) => ({
      url: `http://10.1.${i >> 8}.${i & 255}:8080`, weight: 1 + (i % 3), drain: false,
    })),
    slowStartMs: s.slowStart ? 10_000 : 0,
    panicBelow: 0,
    probe: { rise: 2, fall: 3 },
    // Passive checks off: Pool.end() then only counts (the bench times picks, not outlier detection).
    passive: { consecutiveFailures: 0, ejectForMs: 30_000, maxEjectedPercent: 50 },
  };
  const pool = new Pool(description, new BackendRegistry({ now: () => clock }), { random: seeded(s.size) });
  const rnd = seeded(7);
  for (const b of pool.backends) {
    const load = Math.floor(rnd() * 4);
    for (let k = 0; k < load; k++) pool.begin(b);
    if (s.slowStart) b.state.upSince = clock - 1_000 - Math.floor(rnd() * 100);
  }
  if (s.down) {
    const order = shuffled(s.size, 11);
    for (let k = 0; k < Math.round(s.down * s.size); k++) (pool.backends[order[k] as number] as Backend).state.health = 'down';
  }
  return pool;
}

/**
 * timePicks returns µs per iteration of `pick(i)`: after a warm-up, ROUNDS
 * rounds of up to PICKS picks (each stopped after ROUND_BUDGET_MS), best
 * round kept — the least disturbed by GC and by other processes.
 */
function timePicks(pick: (i: number) => number): number {
  let sink = 0;
  const warmEnd = process.hrtime.bigint() + BigInt(WARMUP_BUDGET_MS) * 1_000_000n;
  for (let i = 0; i < WARMUP; i++) {
    sink += pick(i);
    if ((i & 255) === 255 && process.hrtime.bigint() > warmEnd) break;
  }
  const budget = BigInt(ROUND_BUDGET_MS) * 1_000_000n;
  let best = Number.POSITIVE_INFINITY;
  let next = WARMUP;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    let done = 0;
    while (done < PICKS) {
      const end = Math.min(PICKS, done + 256);
      for (let i = done; i < end; i++) sink += pick(next + i);
      done = end;
      if (process.hrtime.bigint() - start > budget) break;
    }
    next += done;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / done / 1000);
  }
  if (sink === -1) console.log(sink); // keep the work observable
  return best;
}

function benchStrategy(name: StrategyName, s: Scenario): number {
  const pool = makePool(name, s);
  const backends = pool.backends;
  const n = backends.length;
  const hashed = name === 'hash' || name === 'ip-hash';
  const none: ReadonlySet<Backend> = new Set();
  const tried = new Set<Backend>();
  const churn = s.churn ? shuffled(n, 5) : [];
  let last = backends[0] as Backend;
  return timePicks((i) => {
    if (s.churn) {
      (backends[churn[i % n] as number] as Backend).state.health = 'down';
      (backends[churn[(i + n - 10) % n] as number] as Backend).state.health = 'up';
    }
    let set = none;
    if (s.retry) {
      tried.clear();
      tried.add(last);
      set = tried;
    }
    const b = pool.select(set, hashed ? KEYS[i & 4095] : undefined) as Backend;
    pool.begin(b);
    last = b;
    const other = backends[i % n] as Backend;
    if (other.traffic.inFlight > 0) pool.end(other, 'ok', '');
    return b.weight;
  });
}

function benchSticky(size: number, indexed: boolean): number {
  const pool = makePool('round-robin', { title: '', size });
  const ids = pool.backends.map((b) => stickyId(b.url));
  const where = indexed ? stickyIndex(pool.backends) : pool.backends;
  const ctx = { tried: new Set<Backend>() };
  return timePicks((i) => (findSticky(where, ids[i % ids.length] as string, ctx) as Backend).weight);
}

function buildMs(size: number): number {
  const pool = makePool('round-robin', { title: '', size });
  const start = process.hrtime.bigint();
  const rounds = 3;
  for (let r = 0; r < rounds; r++) createStrategy('hash').create(pool.backends, { journal: pool.registry.journal });
  return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
}

/** table prints rows as a Markdown table, the first column left-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((s, c) => (c === 0 ? s.padEnd(widths[c] as number) : s.padStart(widths[c] as number))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** fmt renders µs with three significant digits (0.0412, 1.23, 391). */
function fmt(us: number): string {
  return us >= 100 ? us.toFixed(0) : us.toPrecision(3);
}

const only = process.argv.slice(2);
const names = STRATEGY_NAMES.filter((n) => only.length === 0 || only.includes(n));
const t0 = Date.now();
console.log(`node ${process.version}: µs per pick through Pool.select, best of ${ROUNDS} rounds of ${PICKS.toLocaleString('en')} picks (fewer if over ${ROUND_BUDGET_MS} ms); weights 1-3\n`);
table(['µs per pick', ...SCENARIOS.map((s) => s.title)], names.map((name) => [name, ...SCENARIOS.map((s) => fmt(benchStrategy(name, s)))]));
console.log('');
table(['µs per lookup', ...SIZES.map((n) => n.toLocaleString('en'))], [
  ['sticky lookup (array)', ...SIZES.map((n) => fmt(benchSticky(n, false)))],
  ['sticky lookup (index)', ...SIZES.map((n) => fmt(benchSticky(n, true)))],
]);
console.log(`\nhash ring build (${SIZES.join(' / ')} backends, weights 1-3): ${SIZES.map((n) => `${buildMs(n).toFixed(2)} ms`).join(' / ')}`);
console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
