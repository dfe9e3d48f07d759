/**
 * The health model on a fake clock, without a network: the state machine
 * (rise/fall, first probe decides, passive ejection, probation, growing
 * ejection time, drain) as a table, then maxEjectedPercent, panic mode and
 * the slow-start ramp. Issue 4 (health and retry model).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/pool/backend.js';
import { formatMs, MAX_EJECTION_MULTIPLIER, PANIC_URL } from '../../src/pool/health-state.js';
import { type FakePool, type FakePoolOptions, makeFakePool, nameOf } from '../helpers/fake-pool.js';

/**
 * run plays a script against backend `a` of a pool a, b, c. Tokens:
 * P+ / P- a passing / failing probe (ECONNREFUSED); O+ / O- a live request
 * that succeeded / answered 500; D the connect fast path (markDown);
 * S a pick (select); T<duration> advance the clock ("T30s", "T250ms").
 * A token may end in xN to repeat it N times.
 */
function run(script: string, opts: FakePoolOptions & { drainA?: boolean } = {}): FakePool {
  const fp = makeFakePool([{ name: 'a', drain: opts.drainA ?? false }, 'b', 'c'], opts);
  const a = fp.by('a');
  for (const token of script.split(/\s+/).filter(Boolean)) {
    const m = /^(P\+|P-|O\+|O-|D|S|T(\d+)(ms|s))(?:x(\d+))?$/.exec(token);
    assert.ok(m, `bad token ${token}`);
    const times = m[4] ? Number(m[4]) : 1;
    for (let i = 0; i < times; i++) {
      switch (m[1]) {
        case 'P+': fp.pool.reportProbe(a, true, 'ok'); break;
        case 'P-': fp.pool.reportProbe(a, false, 'ECONNREFUSED'); break;
        case 'O+': fp.pool.reportOutcome(a, true, 'status 200'); break;
        case 'O-': fp.pool.reportOutcome(a, false, 'status 500'); break;
        case 'D': fp.pool.markDown(a, '4 failed connects: ECONNREFUSED'); break;
        case 'S': fp.pool.select(new Set()); break;
        default: fp.advance(Number(m[2]) * (m[3] === 's' ? 1000 : 1));
      }
    }
  }
  return fp;
}

const log = (fp: FakePool) => fp.transitions.map((t) => `${t.to}: ${t.reason}`);

interface Row {
  name: string;
  script: string;
  opts?: FakePoolOptions & { drainA?: boolean };
  state: 'up' | 'down' | 'ejected' | 'draining';
  transitions: string[];
  available?: boolean;
}

const EJECT_1 = 'ejected: ejected 30s: 5 consecutive failures: status 500';
const RETURN_1 = 'probation: ejection of 30s over; on probation';

const table: Row[] = [
  // Active checks: the first probe decides, then HAProxy rise/fall.
  { name: 'first probe passes: up, nothing logged', script: 'P+', state: 'up', transitions: [] },
  { name: 'first probe fails: down at once, no fall count', script: 'P-', state: 'down', transitions: ['down: first probe failed: ECONNREFUSED'] },
  { name: 'first probe of a down backend passes: up at once, no rise count', script: 'D P+', state: 'up',
    transitions: ['down: 4 failed connects: ECONNREFUSED', 'up: first probe passed'] },
  { name: 'fall 3: two failed probes keep it up', script: 'P+ P-x2', state: 'up', transitions: [] },
  { name: 'fall 3: the third failed probe takes it down', script: 'P+ P-x3', state: 'down', transitions: ['down: 3 failed probes: ECONNREFUSED'] },
  { name: 'fall 3: a pass between failures starts the count again', script: 'P+ P-x2 P+ P-x2', state: 'up', transitions: [] },
  { name: 'fall 1 takes it down on one failure', script: 'P+ P-', opts: { fall: 1 }, state: 'down', transitions: ['down: 1 failed probes: ECONNREFUSED'] },
  { name: 'a state change is reported once, not per probe', script: 'P+ P-x9', state: 'down', transitions: ['down: 3 failed probes: ECONNREFUSED'] },
  { name: 'rise 2: one pass keeps a down backend down', script: 'P- P+', state: 'down', transitions: ['down: first probe failed: ECONNREFUSED'] },
  { name: 'rise 2: two passes in a row bring it up', script: 'P- P+x2', state: 'up',
    transitions: ['down: first probe failed: ECONNREFUSED', 'up: 2 passing probes'] },
  { name: 'rise 2: a failure between passes starts the count again', script: 'P- P+ P- P+', state: 'down',
    transitions: ['down: first probe failed: ECONNREFUSED'] },
  { name: 'the connect fast path takes it down at once', script: 'P+ D', state: 'down', transitions: ['down: 4 failed connects: ECONNREFUSED'] },
  { name: 'after the fast path, rise passes bring it back', script: 'P+ D P+x2', state: 'up',
    transitions: ['down: 4 failed connects: ECONNREFUSED', 'up: 2 passing probes'] },

  // Passive checks: Envoy-style consecutive failures → ejection.
  { name: '4 failures in a row: still up', script: 'P+ O-x4', state: 'up', transitions: [] },
  { name: '5 failures in a row: ejected for ejectFor', script: 'P+ O-x5', state: 'ejected', transitions: [EJECT_1], available: false },
  { name: 'a success between failures starts the passive count again', script: 'O-x4 O+ O-x4', state: 'up', transitions: [] },
  { name: 'passive checks off (consecutiveFailures 0) never eject', script: 'O-x50', opts: { consecutiveFailures: 0 }, state: 'up', transitions: [] },
  { name: 'passing probes do not cut an ejection short', script: 'O-x5 P+x5 T29999ms S', state: 'ejected', transitions: [EJECT_1] },
  { name: 'after ejectFor it returns, on probation, and the return is logged', script: 'O-x5 T30s S', state: 'up',
    transitions: [EJECT_1, RETURN_1], available: true },
  { name: 'a failure that started before the ejection does not extend it', script: 'O-x5 T10s O-x3 T20s S', state: 'up',
    transitions: [EJECT_1, RETURN_1] },
  { name: 'on probation one failure ejects it again, for twice as long', script: 'O-x5 T30s O-', state: 'ejected',
    transitions: [EJECT_1, RETURN_1, 'ejected: ejected 60s: failed on probation: status 500'] },
  { name: 'on probation a run of consecutiveFailures successes clears the count', script: 'O-x5 T30s O+x5 O-x5', state: 'ejected',
    transitions: [EJECT_1, RETURN_1, EJECT_1] },
  { name: 'on probation a shorter run of successes does not clear it', script: 'O-x5 T30s O+x4 O-', state: 'ejected',
    transitions: [EJECT_1, RETURN_1, 'ejected: ejected 60s: failed on probation: status 500'] },
  { name: 'sub-second ejectFor is shown in ms', script: 'O-x5', opts: { ejectForMs: 300 }, state: 'ejected',
    transitions: ['ejected: ejected 300ms: 5 consecutive failures: status 500'] },
  { name: 'an ejected backend that fails its probes shows down, and stays down after the ejection', script: 'P+ O-x5 P-x3 T30s S',
    state: 'down', transitions: [EJECT_1, 'down: 3 failed probes: ECONNREFUSED', RETURN_1] },

  // Drain: no new requests, still probed, shown as draining.
  { name: 'drain: shown as draining and not available', script: 'P+', opts: { drainA: true }, state: 'draining', transitions: [], available: false },
  { name: 'drain: probes still apply (down underneath)', script: 'P+ P-x3', opts: { drainA: true }, state: 'draining',
    transitions: ['down: 3 failed probes: ECONNREFUSED'], available: false },
];

describe('health state machine (table, fake clock)', () => {
  for (const row of table) {
    it(row.name, () => {
      const fp = run(row.script, row.opts);
      const a = fp.by('a');
      assert.deepEqual(log(fp), row.transitions);
      assert.equal(a.stateName, row.state);
      assert.equal(a.available, row.available ?? (row.state === 'up'));
    });
  }
});

describe('health state details', () => {
  it('since and reason follow each change; upSince is set when rise brings a backend up', () => {
    const fp = run('P+');
    const a = fp.by('a');
    const t0 = fp.clock.now;
    fp.advance(1000);
    for (let i = 0; i < 3; i++) fp.pool.reportProbe(a, false, 'ECONNREFUSED');
    assert.equal(a.state.since, t0 + 1000);
    assert.equal(a.state.reason, '3 failed probes: ECONNREFUSED');
    fp.advance(500);
    fp.pool.reportProbe(a, true, 'ok');
    fp.advance(500);
    fp.pool.reportProbe(a, true, 'ok');
    assert.equal(a.state.since, t0 + 2000);
    assert.equal(a.state.upSince, t0 + 2000);
    assert.equal(a.state.reason, '2 passing probes');
    assert.deepEqual(a.state.lastProbe, { at: t0 + 2000, ok: true, reason: 'ok', ms: 0 });
  });

  it('an ejection ends at ejectedUntil: since is the end of the ejection, not the moment it is noticed', () => {
    const fp = run('O-x5');
    const a = fp.by('a');
    const t0 = fp.clock.now;
    assert.equal(a.state.ejectedUntil, t0 + 30_000);
    assert.equal(a.state.since, t0);
    fp.advance(45_000);
    fp.pool.select(new Set());
    assert.equal(a.state.ejectedUntil, 0);
    assert.equal(a.state.since, t0 + 30_000);
    assert.equal(a.state.reason, 'ejection of 30s over; on probation');
  });

  it(`ejection time grows with each ejection and is capped at ${MAX_EJECTION_MULTIPLIER}× ejectFor`, () => {
    const fp = run('O-x5', { ejectForMs: 1000 });
    const a = fp.by('a');
    const lengths: number[] = [];
    for (let i = 0; i < 12; i++) {
      lengths.push(a.state.ejectedUntil - fp.clock.now);
      fp.clock.now = a.state.ejectedUntil;
      fp.pool.reportOutcome(a, false, 'status 500'); // on probation: one failure ejects again
    }
    assert.deepEqual(lengths, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10].map((n) => n * 1000));
    assert.equal(a.state.ejections, 13);
    assert.ok(fp.transitions.some((t) => t.reason.startsWith('ejected 10s: failed on probation')));
  });

  it('a run of successes on probation resets the growth to 1× ejectFor', () => {
    const fp = run('O-x5 T30s O- T60s O+x5');
    const a = fp.by('a');
    assert.equal(a.state.ejections, 0);
    for (let i = 0; i < 5; i++) fp.pool.reportOutcome(a, false, 'status 503');
    assert.equal(a.state.ejectedUntil - fp.clock.now, 30_000);
  });

  it('formatMs renders durations for log lines', () => {
    assert.deepEqual([0, 300, 999, 1000, 1500, 30_000, 300_000].map(formatMs), ['0ms', '300ms', '999ms', '1s', '1.5s', '30s', '300s']);
  });
});

describe('maxEjectedPercent', () => {
  /** failAll sends `rounds` failures to every backend in turn and returns how many ended ejected. */
  function failAll(fp: FakePool, rounds: number): { ejected: string[]; maxSeen: number } {
    let maxSeen = 0;
    for (let r = 0; r < rounds; r++) {
      for (const b of fp.pool.backends) {
        fp.pool.reportOutcome(b, false, 'status 500');
        const n = fp.pool.backends.filter((x) => x.stateName === 'ejected').length;
        maxSeen = Math.max(maxSeen, n);
      }
    }
    return { ejected: fp.pool.backends.filter((x) => x.stateName === 'ejected').map(nameOf), maxSeen };
  }

  const cases: Array<{ n: number; max?: number; want: number }> = [
    { n: 1, want: 0 },
    { n: 2, want: 1 },
    { n: 3, want: 1 },
    { n: 4, want: 2 },
    { n: 5, want: 2 },
    { n: 4, max: 100, want: 4 },
    { n: 4, max: 0, want: 0 },
  ];
  for (const c of cases) {
    it(`${c.n} failing backends, maxEjectedPercent ${c.max ?? 50}: at most ${c.want} ejected`, () => {
      const names = ['a', 'b', 'c', 'd', 'e'].slice(0, c.n);
      const fp = makeFakePool(names, { maxEjectedPercent: c.max ?? 50 });
      const { ejected, maxSeen } = failAll(fp, 20);
      assert.equal(ejected.length, c.want);
      assert.equal(maxSeen, c.want);
    });
  }

  it('a single-backend pool is never ejected, however often it fails', () => {
    const fp = makeFakePool(['a']);
    for (let i = 0; i < 100; i++) fp.pool.reportOutcome(fp.by('a'), false, 'status 500');
    assert.equal(fp.by('a').stateName, 'up');
    assert.deepEqual(fp.transitions, []);
  });

  it('draining backends take no traffic, so they do not count: the one serving backend is never ejected', () => {
    const fp = makeFakePool([{ name: 'a', drain: true }, 'b']);
    for (let i = 0; i < 20; i++) fp.pool.reportOutcome(fp.by('b'), false, 'status 500');
    assert.equal(fp.by('b').stateName, 'up');
    assert.equal(nameOf(fp.pool.select(new Set())), 'b');
  });

  it('a backend held back by the cap is ejected at its next failure once another returns', () => {
    const fp = makeFakePool(['a', 'b'], { ejectForMs: 1000 });
    for (let i = 0; i < 5; i++) fp.pool.reportOutcome(fp.by('a'), false, 'status 500');
    for (let i = 0; i < 8; i++) fp.pool.reportOutcome(fp.by('b'), false, 'status 500');
    assert.deepEqual(fp.pool.backends.map((b) => b.stateName), ['ejected', 'up']);
    fp.advance(1000);
    fp.pool.reportOutcome(fp.by('b'), false, 'status 500');
    assert.deepEqual(fp.pool.backends.map((b) => b.stateName), ['up', 'ejected']);
    assert.match(fp.transitions.at(-1)?.reason ?? '', /^ejected 1s: 9 consecutive failures/);
  });
});

describe('panic mode', () => {
  const picks = (fp: FakePool, n: number) => Array.from({ length: n }, () => nameOf(fp.pool.select(new Set()))).join(' ');

  it('off by default: with every backend down nothing is picked', () => {
    const fp = makeFakePool(['a', 'b']);
    for (const b of fp.pool.backends) fp.pool.reportProbe(b, false, 'ECONNREFUSED');
    assert.equal(picks(fp, 2), '- -');
    assert.equal(fp.transitions.filter((t) => t.kind === 'panic').length, 0);
  });

  it('at the threshold (2 of 4 up, panicBelow 50%) only healthy backends are picked', () => {
    const fp = makeFakePool(['a', 'b', 'c', 'd'], { panicBelow: 0.5 });
    fp.pool.reportProbe(fp.by('a'), false, 'ECONNREFUSED');
    fp.pool.reportProbe(fp.by('b'), false, 'ECONNREFUSED');
    assert.equal(fp.pool.panicking(), false);
    assert.equal(picks(fp, 4), 'c d c d');
  });

  it('below it every non-draining backend is eligible, and start and end are reported once each', () => {
    const fp = makeFakePool(['a', 'b', 'c', { name: 'd', drain: true }], { panicBelow: 0.5 });
    fp.pool.reportProbe(fp.by('a'), false, 'ECONNREFUSED');
    fp.pool.reportProbe(fp.by('b'), false, 'ECONNREFUSED');
    assert.equal(fp.pool.panicking(), true);
    assert.equal(picks(fp, 6), 'a b c a b c');
    const panics = fp.transitions.filter((t) => t.kind === 'panic');
    assert.equal(panics.length, 1);
    assert.equal(panics[0]?.url, PANIC_URL);
    assert.equal(panics[0]?.to, 'panic');
    assert.match(panics[0]?.reason ?? '', /^PANIC MODE ON: 1 of 3 backends healthy \(33%, below panicBelow 50%\)/);
    // b comes back: 2 of 3 healthy, panic ends.
    fp.pool.reportProbe(fp.by('b'), true, 'ok');
    fp.pool.reportProbe(fp.by('b'), true, 'ok');
    assert.equal(picks(fp, 4), 'b c b c');
    const after = fp.transitions.filter((t) => t.kind === 'panic');
    assert.deepEqual(after.map((t) => t.to), ['panic', 'normal']);
    assert.match(after[1]?.reason ?? '', /^panic mode off: 2 of 3 backends healthy/);
  });

  it('ejected backends count as unhealthy for the panic threshold', () => {
    const fp = makeFakePool(['a', 'b'], { panicBelow: 0.6, maxEjectedPercent: 50 });
    for (let i = 0; i < 5; i++) fp.pool.reportOutcome(fp.by('a'), false, 'status 500');
    assert.equal(fp.by('a').stateName, 'ejected');
    assert.equal(fp.pool.panicking(), true);
    assert.equal(picks(fp, 2), 'a b');
  });

  it('a new generation that is still panicking does not report the start again', () => {
    const g1 = makeFakePool(['a', 'b'], { panicBelow: 0.6 });
    g1.pool.reportProbe(g1.by('a'), false, 'ECONNREFUSED');
    g1.pool.select(new Set());
    const g2 = makeFakePool(['a', 'b'], { panicBelow: 0.6, shared: g1, generation: 2, serve: g1.pool });
    g2.pool.select(new Set());
    g1.pool.select(new Set()); // an older generation finishing a request: no flip
    assert.deepEqual(g1.transitions.filter((t) => t.kind === 'panic').map((t) => t.to), ['panic']);
    assert.equal(g2.pool.panic, true, 'the panic state was handed over at the commit');
    assert.equal(g1.pool.serving, false);
  });

  it('a generation being built does not flip panic mode during its first probes (issue 9)', () => {
    const g1 = makeFakePool(['a', 'b'], { panicBelow: 0.5 });
    // Generation 2 adds c and d; its first probe round finds both down
    // (2 of 4 healthy would not panic at 50 %, but 1 of 3 probed so far…).
    const g2 = makeFakePool(['a', 'b', 'c', 'd'], { panicBelow: 0.6, shared: g1, generation: 2, serve: 'never' });
    g2.pool.reportProbe(g2.by('c'), false, 'ECONNREFUSED');
    g2.pool.reportProbe(g2.by('d'), false, 'ECONNREFUSED');
    assert.equal(g2.pool.panicking(), true, 'by its own rules generation 2 would panic');
    assert.deepEqual(g1.transitions.filter((t) => t.kind === 'panic'), [], 'nothing reported while it is being built');
    assert.equal(g1.pool.panic, false);
    // The serving generation keeps routing to healthy backends only.
    assert.equal(Array.from({ length: 4 }, () => nameOf(g1.pool.select(new Set()))).join(' '), 'a b a b');
    // At the commit, generation 2 takes over and reports the start once.
    g2.pool.serve(g1.pool);
    assert.deepEqual(g1.transitions.filter((t) => t.kind === 'panic').map((t) => t.to), ['panic']);
  });
});

describe('slow start', () => {
  function cameUp(o: FakePoolOptions): { fp: FakePool; a: Backend } {
    const fp = makeFakePool([{ name: 'a', weight: 10 }, { name: 'b', weight: 10 }], { strategy: 'weighted-round-robin', ...o });
    const a = fp.by('a');
    fp.pool.reportProbe(a, false, 'ECONNREFUSED');
    fp.pool.reportProbe(a, true, 'ok');
    fp.pool.reportProbe(a, true, 'ok');
    assert.equal(a.stateName, 'up');
    return { fp, a };
  }

  it('the effective weight ramps from 10% to 100% of the weight over slowStart', () => {
    const { fp, a } = cameUp({ slowStartMs: 10_000 });
    const seen: number[] = [];
    for (let i = 0; i <= 11; i++) {
      seen.push(Math.round(a.effectiveWeight() * 100) / 100);
      fp.advance(1000);
    }
    assert.deepEqual(seen, [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10]);
    assert.equal(fp.by('b').effectiveWeight(), 10, 'a backend up since the start is not ramped');
  });

  it('no ramp when slowStart is 0, or when the first probe found the backend up', () => {
    const { a } = cameUp({ slowStartMs: 0 });
    assert.equal(a.effectiveWeight(), 10);
    const fp = makeFakePool([{ name: 'a', weight: 10 }], { slowStartMs: 10_000 });
    fp.pool.reportProbe(fp.by('a'), true, 'ok');
    assert.equal(fp.by('a').effectiveWeight(), 10);
  });

  it('with weighted-round-robin the share of a backend that just came up grows over the ramp', () => {
    const { fp } = cameUp({ slowStartMs: 10_000 });
    const shares: number[] = [];
    for (let window = 0; window < 6; window++) {
      let a = 0;
      for (let i = 0; i < 200; i++) if (nameOf(fp.pool.select(new Set())) === 'a') a++;
      shares.push(a / 200);
      fp.advance(2000);
    }
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i]! >= shares[i - 1]!, `shares grow: ${shares.join(' ')}`);
    assert.ok(shares[0]! < 0.15, `first window ${shares[0]}`);
    assert.equal(shares.at(-1), 0.5);
  });
});
