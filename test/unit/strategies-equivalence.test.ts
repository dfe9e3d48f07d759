/**
 * The indexed strategies pick exactly what the plain O(n) loops they
 * replaced picked (issue 10, item 4: sub-linear picks, same sequences).
 * The loops are kept here, verbatim, as references; both run over the same
 * backends while a seeded script changes health, ejections (ending by the
 * clock), slow start, panic mode, tried sets and loads between picks. The
 * consistent-hash walk is checked against a ring built from the eligible
 * backends only (the two must agree: points depend only on URL and weight).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StrategyName } from '../../src/config/schema.js';
import { Backend, BackendState, BackendTraffic } from '../../src/pool/backend.js';
import { BackendRegistry } from '../../src/pool/registry.js';
import { StateJournal } from '../../src/pool/state-journal.js';
import { hash } from '../../src/pool/strategies/hash.js';
import { createStrategy } from '../../src/pool/strategies/index.js';
import { isEligible, type PickContext, type Strategy } from '../../src/pool/strategies/strategy.js';
import { makeFakePool } from '../helpers/fake-pool.js';
import { mulberry32 } from '../helpers/random.js';


/** ReferenceRoundRobin is the O(n) rotation round-robin.ts had before the index. */
class ReferenceRoundRobin implements Strategy {
  readonly backends: readonly Backend[];
  #cursor = 0;
  constructor(backends: readonly Backend[]) {
    this.backends = backends;
  }
  select(ctx: PickContext): Backend | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    const start = this.#cursor % n;
    for (let i = 0; i < n; i++) {
      const idx = (start + i) % n;
      const b = this.backends[idx] as Backend;
      if (isEligible(b, ctx)) {
        this.#cursor = idx + 1;
        return b;
      }
    }
    return undefined;
  }
}

/** ReferenceSmoothWrr is the O(n) loop weighted-round-robin.ts had before the index (nginx's). */
class ReferenceSmoothWrr implements Strategy {
  readonly backends: readonly Backend[];
  readonly #current: Float64Array;
  constructor(backends: readonly Backend[]) {
    this.backends = backends;
    this.#current = new Float64Array(backends.length);
  }
  select(ctx: PickContext): Backend | undefined {
    const current = this.#current;
    let best = -1;
    let bestWeight = 0;
    let total = 0;
    for (let i = 0; i < this.backends.length; i++) {
      const b = this.backends[i] as Backend;
      if (!isEligible(b, ctx)) continue;
      const w = b.effectiveWeight();
      const cw = (current[i] as number) + w;
      current[i] = cw;
      total += w;
      if (best < 0 || cw > bestWeight) {
        best = i;
        bestWeight = cw;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestWeight - total;
    return this.backends[best];
  }
}

/** ReferenceLeastConnections is the O(n) scan least-connections.ts had before the index. */
class ReferenceLeastConnections implements Strategy {
  readonly backends: readonly Backend[];
  #cursor = 0;
  constructor(backends: readonly Backend[]) {
    this.backends = backends;
  }
  select(ctx: PickContext): Backend | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    const start = this.#cursor % n;
    let best: Backend | undefined;
    let bestIdx = 0;
    let bestLoad = 0;
    let bestWeight = 1;
    for (let i = 0; i < n; i++) {
      const idx = start + i < n ? start + i : start + i - n;
      const b = this.backends[idx] as Backend;
      if (!isEligible(b, ctx)) continue;
      const load = b.traffic.inFlight;
      const weight = b.effectiveWeight();
      if (best === undefined || load * bestWeight < bestLoad * weight) {
        best = b;
        bestIdx = idx;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    if (best !== undefined) this.#cursor = bestIdx + 1;
    return best;
  }
}

/**
 * SLOW_START_MS and the clock steps are powers of two, so effective weights
 * are short binary fractions and both sides' sums are exact: the comparison
 * can demand identical picks even while backends ramp.
 */
const SLOW_START_MS = 8192;
const STEP_MS = 512;

interface World {
  backends: Backend[];
  /** journal is the one every state of the world records into (as a registry's do). */
  journal: StateJournal;
  clock: { now: number };
  rnd: () => number;
}

function world(n: number, seed: number, opts: { slowStart?: boolean; maxWeight?: number; drainShare?: number } = {}): World {
  const rnd = mulberry32(seed);
  const clock = { now: 1_000_000 };
  const journal = new StateJournal();
  const backends = Array.from({ length: n }, (_, i) => {
    const url = `http://b${i}.test:80`;
    const spec = { url, weight: 1 + Math.floor(rnd() * (opts.maxWeight ?? 4)), drain: rnd() < (opts.drainShare ?? 0.1) };
    return new Backend(spec, new BackendState(url, clock.now, journal), new BackendTraffic(), {
      now: () => clock.now, slowStartMs: opts.slowStart ? SLOW_START_MS : 0,
    });
  });
  return { backends, journal, clock, rnd };
}

/** pickOf returns a random backend of the world. */
function any(w: World): Backend {
  return w.backends[Math.floor(w.rnd() * w.backends.length)] as Backend;
}

/**
 * churn applies one random change: health, an ejection (ending by the
 * clock), the clock, a load change (through the hook, or an increase
 * written directly as a test or another generation would).
 */
function churn(w: World, s: Strategy, opts: { slowStart?: boolean; directWrites?: boolean }): void {
  const r = w.rnd();
  const b = any(w);
  if (r < 0.25) {
    const up = b.state.health === 'down';
    b.state.health = up ? 'up' : 'down';
    if (up && opts.slowStart) b.state.upSince = w.clock.now - 2 * STEP_MS;
  } else if (r < 0.35) {
    b.state.ejectedUntil = w.clock.now + STEP_MS * (1 + Math.floor(w.rnd() * 4));
  } else if (r < 0.45) {
    w.clock.now += STEP_MS * Math.floor(w.rnd() * 3);
  } else if (r < 0.75) {
    b.traffic.inFlight++;
    if (!opts.directWrites || w.rnd() < 0.5) s.onLoadChange?.(b);
  } else if (b.traffic.inFlight > 0) {
    b.traffic.inFlight--;
    s.onLoadChange?.(b);
  }
}

/** tried returns a random tried set: mostly empty, sometimes one or two backends (rarely one from elsewhere). */
function triedSet(w: World, foreign: Backend): Set<Backend> {
  const r = w.rnd();
  if (r < 0.6) return new Set();
  if (r < 0.85) return new Set([any(w)]);
  if (r < 0.97) return new Set([any(w), any(w)]);
  return new Set([foreign, any(w)]);
}

const nameOf = (b: Backend | undefined) => b?.url ?? '-';

function compare(
  name: StrategyName, reference: (bs: readonly Backend[]) => Strategy,
  cfg: {
    n: number; seed: number; steps: number; slowStart?: boolean; panic?: boolean; maxWeight?: number; directWrites?: boolean;
    changesPerPick?: number; noJournal?: boolean;
  },
): void {
  const w = world(cfg.n, cfg.seed, cfg);
  const foreign = world(1, 99).backends[0] as Backend;
  // noJournal: the strategy is not told where changes are recorded (it re-checks every backend per pick).
  const s = createStrategy(name).create(w.backends, { random: Math.random, journal: cfg.noJournal ? undefined : w.journal });
  const ref = reference(w.backends);
  let panic = false;
  for (let step = 0; step < cfg.steps; step++) {
    for (let k = 0; k < (cfg.changesPerPick ?? 1); k++) churn(w, s, cfg);
    if (cfg.panic && w.rnd() < 0.02) panic = !panic;
    const ctx: PickContext = { tried: triedSet(w, foreign), panic };
    const got = s.select(ctx);
    const want = ref.select(ctx);
    assert.equal(nameOf(got), nameOf(want), `${name}, seed ${cfg.seed}, step ${step}`);
    if (got && w.rnd() < 0.5) {
      got.traffic.inFlight++;
      s.onLoadChange?.(got);
    }
  }
}

const ref = {
  rr: (bs: readonly Backend[]) => new ReferenceRoundRobin(bs),
  wrr: (bs: readonly Backend[]) => new ReferenceSmoothWrr(bs),
  lc: (bs: readonly Backend[]) => new ReferenceLeastConnections(bs),
};

describe('indexed strategies pick exactly what the O(n) loops picked', () => {
  for (const [name, reference] of [['round-robin', ref.rr], ['weighted-round-robin', ref.wrr], ['least-connections', ref.lc]] as const) {
    it(`${name}: health, ejections, tried sets and loads changing between picks`, () => {
      for (let seed = 1; seed <= 6; seed++) compare(name, reference, { n: 3 + seed * 7, seed, steps: 3000 });
    });

    it(`${name}: loads raised without telling the strategy (tests, another generation's Pool)`, () => {
      for (let seed = 51; seed <= 54; seed++) compare(name, reference, { n: 3 + seed % 7 * 5, seed, steps: 3000, directWrites: true });
    });

    it(`${name}: panic mode starting and ending`, () => {
      for (let seed = 11; seed <= 14; seed++) compare(name, reference, { n: 40, seed, steps: 3000, panic: true });
    });

    it(`${name}: slow start (weights moving with the clock)`, () => {
      for (let seed = 21; seed <= 24; seed++) compare(name, reference, { n: 30, seed, steps: 3000, slowStart: true, panic: true });
    });

    it(`${name}: a whole pool of distinct weights (tournament with many lines)`, () => {
      compare(name, reference, { n: 300, seed: 31, steps: 4000, maxWeight: 10_000 });
    });

    it(`${name}: more changes between two picks than the journal holds`, () => {
      compare(name, reference, { n: 50, seed: 41, steps: 20, changesPerPick: 20_000 });
    });

    it(`${name}: no journal given (backends made outside a registry): every pick re-checks`, () => {
      compare(name, reference, { n: 30, seed: 61, steps: 2000, slowStart: true, panic: true, noJournal: true });
    });
  }

  for (const [title, weights] of [['a few weights', [1, 2, 3, 2, 1]], ['more weights than are scanned', [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13]]] as const) {
    it(`weighted-round-robin: rebasing (every 2^32 / largest weight picks) changes nothing (${title})`, () => {
      const journal = new StateJournal();
      const backends = [...weights, 10_000].map((weight, i) => {
        const url = `http://w${i}:80`;
        return new Backend({ url, weight, drain: false }, new BackendState(url, 0, journal), new BackendTraffic(), { now: () => 0, slowStartMs: 0 });
      });
      const s = createStrategy('weighted-round-robin').create(backends, { journal });
      const r = ref.wrr(backends);
      const ctx: PickContext = { tried: new Set() };
      for (let i = 0; i < 2 ** 32 / 10_000 + 1000; i++) {
        if (i % 50_000 === 0) {
          const b = backends[(i / 50_000) % weights.length] as Backend;
          b.state.health = b.state.health === 'up' ? 'down' : 'up';
        }
        const got = s.select(ctx);
        const want = r.select(ctx);
        if (got !== want) assert.fail(`pick ${i}: ${nameOf(got)} != ${nameOf(want)}`);
      }
    });
  }

  it('least-connections: a decrease written outside the Pool is seen within n picks', () => {
    const w = world(20, 3, { drainShare: 0 });
    const s = createStrategy('least-connections').create(w.backends, { journal: w.journal });
    for (const b of w.backends) {
      b.traffic.inFlight = 5;
      s.onLoadChange?.(b);
    }
    const idle = w.backends[13] as Backend;
    idle.traffic.inFlight = 0; // no onLoadChange: another generation's Pool ended these
    const picks = Array.from({ length: 20 }, () => s.select({ tried: new Set() }));
    assert.ok(picks.includes(idle), 'the idle backend was never picked');
    assert.equal(s.select({ tried: new Set() }), idle);
  });
});

describe('consistent hash: the walk past ineligible backends', () => {
  it('picks what a ring of only the eligible, untried backends picks', () => {
    const w = world(25, 5);
    const s = hash.create(w.backends, { journal: w.journal });
    const foreign = world(1, 98).backends[0] as Backend;
    let panic = false;
    for (let step = 0; step < 120; step++) {
      for (let k = 0; k < 3; k++) churn(w, s, {});
      if (w.rnd() < 0.1) panic = !panic;
      const tried = triedSet(w, foreign);
      const ctx: PickContext = { tried, panic };
      const subset = w.backends.filter((b) => isEligible(b, ctx));
      const small = hash.create(subset);
      for (let k = 0; k < 40; k++) {
        ctx.key = `user-${step}-${k}`;
        assert.equal(nameOf(s.select(ctx)), nameOf(small.select({ tried: new Set(), key: ctx.key, panic })), `step ${step} key ${ctx.key}`);
      }
    }
  });
});

describe('random-two over a mostly ineligible pool', () => {
  it('draws uniformly among the eligible, untried backends and never another', () => {
    const w = world(400, 8, { drainShare: 0.2 });
    const s = createStrategy('random-two').create(w.backends, { random: mulberry32(4), journal: w.journal });
    for (const b of w.backends) b.state.health = 'down';
    const up = w.backends.filter((b) => !b.spec.drain).slice(0, 6);
    for (const b of up) b.state.health = 'up';
    const tried = new Set([up[0] as Backend]);
    const counts = new Map<Backend, number>();
    for (let i = 0; i < 10_000; i++) {
      const b = s.select({ tried }) as Backend;
      assert.ok(isEligible(b, { tried }), `picked ${b.url}`);
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    assert.equal(counts.size, 5);
    for (const c of counts.values()) assert.ok(Math.abs(c - 2000) < 200, `count ${c}`);
    // All tried: nothing.
    assert.equal(s.select({ tried: new Set(up) }), undefined);
  });
});

describe('the state journal', () => {
  it('records a change of health, ejectedUntil or upSince, and only a change', () => {
    const journal = new StateJournal();
    const s = new BackendState('http://j:80', 0, journal);
    s.health = 'up';
    s.ejectedUntil = 0;
    s.upSince = 0;
    s.passes = 3; // not journaled: no strategy depends on it
    assert.equal(journal.seq, 0);
    s.health = 'down';
    s.ejectedUntil = 5;
    s.upSince = 7;
    assert.equal(journal.seq, 3);
    assert.equal(journal.at(0), s);
    assert.deepEqual(JSON.parse(JSON.stringify(s)).health, 'down');
    assert.equal('journal' in JSON.parse(JSON.stringify(s)), false);
  });

  it('belongs to one registry: two registries (two daemons in one process) share nothing', () => {
    const one = new BackendRegistry({ now: () => 0 });
    const two = new BackendRegistry({ now: () => 0 });
    assert.notEqual(one.journal, two.journal);
    const a = one.state('http://same:80');
    const b = two.state('http://same:80');
    assert.equal(a.journal, one.journal);
    a.health = 'down';
    a.ejectedUntil = 9;
    assert.equal(one.journal.seq, 2);
    assert.equal(two.journal.seq, 0);
    b.health = 'down';
    assert.equal(one.journal.seq, 2);
    assert.equal(two.journal.seq, 1);
  });

  it('a state made outside a registry records nowhere, and a strategy refuses states of another journal', () => {
    const alone = new BackendState('http://alone:80', 0);
    alone.health = 'down';
    assert.equal(alone.journal, undefined);
    const w = world(4, 7, { drainShare: 0 });
    for (const name of ['round-robin', 'weighted-round-robin', 'least-connections', 'random-two', 'hash'] as const) {
      assert.throws(() => createStrategy(name).create(w.backends, { journal: new StateJournal() }), /another journal/, name);
    }
  });
});

describe('Pool: the healthy count behind panic mode', () => {
  it('agrees with counting every backend, whoever writes the state, as ejections end by the clock and the journal overruns', () => {
    const names = Array.from({ length: 40 }, (_, i) => ({ name: `p${i}`, drain: i % 9 === 4 }));
    const fp = makeFakePool(names, { panicBelow: 0.5 });
    const rnd = mulberry32(77);
    const pick = () => fp.pool.backends[Math.floor(rnd() * fp.pool.backends.length)] as Backend;
    for (let step = 0; step < 4000; step++) {
      const changes = step % 500 === 499 ? 5000 : 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < changes; k++) {
        const r = rnd();
        const b = pick();
        if (r < 0.5) b.state.health = rnd() < 0.55 ? 'up' : 'down';
        else if (r < 0.7) b.state.ejectedUntil = fp.clock.now + 1 + Math.floor(rnd() * 3000);
        else if (r < 0.75) b.state.ejectedUntil = 0;
        else fp.advance(Math.floor(rnd() * 400));
      }
      const serving = fp.pool.backends.filter((b) => !b.draining);
      const healthy = serving.filter((b) => b.healthy).length;
      assert.equal(fp.pool.panicking(), healthy / serving.length < 0.5, `step ${step}: ${healthy} of ${serving.length}`);
      if (rnd() < 0.3) fp.pool.select(new Set());
    }
    const flips = fp.transitions.filter((t) => t.kind === 'panic');
    assert.ok(flips.length > 2, `panic mode flipped ${flips.length} times: the test proves little`);
  });
});
