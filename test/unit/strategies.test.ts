/**
 * Network-free tests of the selection strategies over fake pools: exact
 * sequences and counts where the algorithm is deterministic, bounds where it
 * is random (with a seeded generator), and the one rule every strategy
 * shares: never a tried, draining or down backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STRATEGY_NAMES, type StrategyName } from '../../src/config/schema.js';
import type { Backend } from '../../src/pool/backend.js';
import { Pool, type PoolDescription } from '../../src/pool/pool.js';
import { BackendRegistry } from '../../src/pool/registry.js';
import { createStrategy } from '../../src/pool/strategies/index.js';
import type { PickContext } from '../../src/pool/strategies/strategy.js';
import { mulberry32 } from '../helpers/random.js';


interface FakeSpec { name: string; weight?: number; drain?: boolean }

/** makePool builds a pool of backends named a, b, c… (URL http://a:80 …) on a fake clock. */
function makePool(strategy: StrategyName, specs: FakeSpec[], opts: { slowStartMs?: number; seed?: number } = {}) {
  const clock = { now: 1_000_000 };
  const registry = new BackendRegistry({ now: () => clock.now });
  const description: PoolDescription = {
    generation: 1,
    strategy,
    backends: specs.map((s) => ({ url: `http://${s.name}:80`, weight: s.weight ?? 1, drain: s.drain ?? false })),
    slowStartMs: opts.slowStartMs ?? 0,
    panicBelow: 0,
    probe: { rise: 2, fall: 3 },
    passive: { consecutiveFailures: 5, ejectForMs: 30_000, maxEjectedPercent: 50 },
  };
  const pool = new Pool(description, registry, { random: mulberry32(opts.seed ?? 42) });
  const by = (name: string) => pool.backend(`http://${name}:80`) as Backend;
  return { pool, registry, clock, by };
}

const nameOf = (b: Backend | undefined) => (b === undefined ? '-' : new URL(b.url).hostname);
const none: ReadonlySet<Backend> = new Set();

function counts(pool: Pool, picks: number, key?: (i: number) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const n = nameOf(pool.select(none, key?.(i)));
    m.set(n, (m.get(n) ?? 0) + 1);
  }
  return m;
}

describe('strategy table', () => {
  it('has a factory for every strategy name, registered under its own name', () => {
    for (const name of STRATEGY_NAMES) assert.equal(createStrategy(name).name, name);
  });
});

describe('round-robin', () => {
  it('splits 3000 picks exactly 1500/1500 over three backends with one down', () => {
    const { pool, by } = makePool('round-robin', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    by('b').state.health = 'down';
    const m = counts(pool, 3000);
    assert.deepEqual(Object.fromEntries(m), { a: 1500, c: 1500 });
  });
});

describe('weighted-round-robin (smooth)', () => {
  it('gives exactly a a b a c a a per cycle for weights 5:1:1', () => {
    const { pool } = makePool('weighted-round-robin', [{ name: 'a', weight: 5 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);
    const seq = Array.from({ length: 14 }, () => nameOf(pool.select(none)));
    assert.deepEqual(seq.join(' '), 'a a b a c a a a a b a c a a');
  });

  it('gives exactly 5000/1000/1000 over 7000 picks', () => {
    const { pool } = makePool('weighted-round-robin', [{ name: 'a', weight: 5 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);
    assert.deepEqual(Object.fromEntries(counts(pool, 7000)), { a: 5000, b: 1000, c: 1000 });
  });

  it('spreads a down backend\'s share over the rest in proportion to their weights', () => {
    const { pool, by } = makePool('weighted-round-robin', [
      { name: 'a', weight: 4 }, { name: 'b', weight: 2 }, { name: 'c', weight: 3 },
    ]);
    by('c').state.health = 'down';
    assert.deepEqual(Object.fromEntries(counts(pool, 6000)), { a: 4000, b: 2000 });
    by('c').state.health = 'up';
    by('a').state.health = 'down';
    assert.deepEqual(Object.fromEntries(counts(pool, 5000)), { b: 2000, c: 3000 });
  });

  it('ramps a backend in slow start through effectiveWeight()', () => {
    const { pool, by, clock } = makePool('weighted-round-robin', [{ name: 'a' }, { name: 'b' }], { slowStartMs: 10_000 });
    by('a').state.upSince = clock.now - 1_000; // 10 % into the ramp → effective weight 0.1
    const m = counts(pool, 1100);
    assert.ok(Math.abs((m.get('a') ?? 0) - 100) <= 1, `a got ${m.get('a')}`);
    clock.now += 10_000; // ramp over
    assert.deepEqual(Object.fromEntries(counts(pool, 1000)), { a: 500, b: 500 });
  });
});

describe('least-connections', () => {
  it('picks the fewest in-flight per unit of weight', () => {
    const { pool, by } = makePool('least-connections', [{ name: 'a', weight: 2 }, { name: 'b' }, { name: 'c' }]);
    by('a').traffic.inFlight = 3; // 1.5 per unit
    by('b').traffic.inFlight = 2; // 2
    by('c').traffic.inFlight = 4; // 4
    assert.equal(nameOf(pool.select(none)), 'a');
    by('a').traffic.inFlight = 5; // 2.5
    assert.equal(nameOf(pool.select(none)), 'b');
  });

  it('levels a synthetic in-flight pattern: requests land where fewest are open', () => {
    const { pool, by } = makePool('least-connections', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    by('a').traffic.inFlight = 6;
    by('b').traffic.inFlight = 3;
    // Open 9 requests that never finish: c catches up with b, then both with a; a gets none.
    const seq: string[] = [];
    for (let i = 0; i < 9; i++) {
      const b = pool.select(none) as Backend;
      b.traffic.inFlight++;
      seq.push(nameOf(b));
    }
    assert.deepEqual(seq.slice(0, 3), ['c', 'c', 'c']);
    assert.deepEqual(seq.slice(3).sort(), ['b', 'b', 'b', 'c', 'c', 'c']);
    assert.deepEqual([by('a'), by('b'), by('c')].map((b) => b.traffic.inFlight), [6, 6, 6]);
  });

  it('breaks ties by rotation, not by list order, and skips a down member', () => {
    const { pool, by } = makePool('least-connections', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    assert.deepEqual(Array.from({ length: 6 }, () => nameOf(pool.select(none))).join(''), 'abcabc');
    by('b').state.health = 'down';
    assert.deepEqual(Object.fromEntries(counts(pool, 3000)), { a: 1500, c: 1500 });
  });
});

describe('random-two', () => {
  it('never picks the busiest of three when the other two are free', () => {
    const { pool, by } = makePool('random-two', [{ name: 'a' }, { name: 'b' }, { name: 'c' }], { seed: 7 });
    by('a').traffic.inFlight = 10;
    const m = counts(pool, 10_000);
    assert.equal(m.get('a'), undefined);
    assert.ok((m.get('b') ?? 0) > 4000 && (m.get('c') ?? 0) > 4000, JSON.stringify(Object.fromEntries(m)));
  });

  it('is within 10 % of the ideal split over 10,000 picks with equal load', () => {
    const { pool } = makePool('random-two', [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }], { seed: 3 });
    const m = counts(pool, 10_000);
    for (const n of ['a', 'b', 'c', 'd']) {
      const got = m.get(n) ?? 0;
      assert.ok(Math.abs(got - 2500) <= 250, `${n} got ${got}`);
    }
  });

  it('stays uniform over the eligible ones when most backends are down (fallback path)', () => {
    const specs = Array.from({ length: 20 }, (_, i) => ({ name: `b${i}` }));
    const { pool, by } = makePool('random-two', specs, { seed: 11 });
    for (let i = 0; i < 17; i++) by(`b${i}`).state.health = 'down';
    const m = counts(pool, 9000);
    assert.deepEqual([...m.keys()].sort(), ['b17', 'b18', 'b19']);
    for (const got of m.values()) assert.ok(Math.abs(got - 3000) <= 300, JSON.stringify(Object.fromEntries(m)));
  });
});

describe('every strategy', () => {
  for (const name of STRATEGY_NAMES) {
    it(`${name}: never returns a tried, draining or down backend; undefined when none is eligible`, () => {
      const { pool, by } = makePool(name, [
        { name: 'a' }, { name: 'b', drain: true }, { name: 'c' }, { name: 'd', weight: 3 }, { name: 'e' },
      ]);
      by('c').state.health = 'down';
      const tried = new Set([by('d')]);
      const bad = new Set(['b', 'c', 'd']);
      for (let i = 0; i < 500; i++) {
        const picked = pool.select(tried, i % 3 === 0 ? undefined : `key-${i}`);
        assert.ok(picked !== undefined && !bad.has(nameOf(picked)), `picked ${nameOf(picked)}`);
      }
      // Only a and e are left; try both → nothing.
      const all = new Set([by('a'), by('d'), by('e')]);
      for (let i = 0; i < 50; i++) assert.equal(pool.select(all, `key-${i}`), undefined);
      assert.equal(pool.select(all), undefined);
      // Passive ejection counts as unavailable too.
      by('a').state.ejectedUntil = Number.MAX_SAFE_INTEGER;
      const onlyE = new Set([by('d')]);
      for (let i = 0; i < 50; i++) assert.equal(nameOf(pool.select(onlyE, `k${i}`)), 'e');
    });

    it(`${name}: picks down backends in panic mode, but still never draining or tried ones`, () => {
      const { by, pool } = makePool(name, [{ name: 'a' }, { name: 'b', drain: true }, { name: 'c' }]);
      by('a').state.health = 'down';
      by('c').state.health = 'down';
      const strategy = createStrategy(name).create(pool.backends, { random: mulberry32(1) });
      const ctx: PickContext = { tried: new Set([by('c')]), panic: true, key: 'k' };
      for (let i = 0; i < 20; i++) assert.equal(nameOf(strategy.select(ctx)), 'a');
      assert.equal(strategy.select({ tried: new Set(), panic: false, key: 'k' }), undefined);
    });

    it(`${name}: handles an empty pool and a single backend`, () => {
      const s = createStrategy(name).create([], { random: Math.random });
      assert.equal(s.select({ tried: none, key: 'k' }), undefined);
      const { pool } = makePool(name, [{ name: 'solo' }]);
      assert.equal(nameOf(pool.select(none, 'k')), 'solo');
      assert.equal(nameOf(pool.select(none)), 'solo');
    });
  }
});
