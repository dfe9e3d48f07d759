/**
 * The consistent-hash ring behind ip-hash and hash: few keys move when the
 * pool changes, a down backend's keys go only to other backends while every
 * other key stays put, the mapping is stable, and weights shift the share.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend, BackendState, BackendTraffic } from '../../src/pool/backend.js';
import { hash, hash32, ipHash } from '../../src/pool/strategies/hash.js';
import type { PickContext, Strategy } from '../../src/pool/strategies/strategy.js';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
const N = 10;

/** backend builds a standalone Backend (no registry needed) on a fixed clock. */
function backend(name: string, weight = 1): Backend {
  return new Backend({ url: `http://${name}:8080`, weight, drain: false }, new BackendState(`http://${name}:8080`, 0), new BackendTraffic(), {
    now: () => 0, slowStartMs: 0,
  });
}

function names(n: number, from = 0): Backend[] {
  return Array.from({ length: n }, (_, i) => backend(`node${from + i}`));
}

/** mapping returns key → backend URL for every key. */
function mapping(strategy: Strategy, backends: readonly Backend[], keys = KEYS): Map<string, string> {
  const m = new Map<string, string>();
  const ctx: PickContext = { tried: new Set() };
  for (const k of keys) {
    ctx.key = k;
    const b = strategy.select(ctx);
    assert.ok(b, `no backend for ${k}`);
    m.set(k, b.url);
  }
  return m;
}

function ring(backends: readonly Backend[]): Strategy {
  return hash.create(backends);
}

function moved(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...a.keys()].filter((k) => a.get(k) !== b.get(k));
}

describe('hash ring', () => {
  it(`moves at most 1.3/N of 10,000 keys when one of N = ${N} backends is removed, and only that backend's keys`, () => {
    const ten = names(N);
    const before = mapping(ring(ten), ten);
    for (let gone = 0; gone < N; gone++) {
      const nine = ten.filter((_, i) => i !== gone);
      const after = mapping(ring(nine), nine);
      const m = moved(before, after);
      assert.ok(m.length <= (1.3 / N) * KEYS.length, `removing node${gone} moved ${m.length} keys`);
      for (const k of m) assert.equal(before.get(k), ten[gone]?.url);
    }
  });

  it(`moves at most 1.3/N of 10,000 keys when a backend is added to N = ${N}, and only onto the newcomer`, () => {
    const ten = names(N);
    const before = mapping(ring(ten), ten);
    for (let extra = 0; extra < 5; extra++) {
      const eleven = [...ten, backend(`extra${extra}`)];
      const after = mapping(ring(eleven), eleven);
      const m = moved(before, after);
      assert.ok(m.length <= (1.3 / N) * KEYS.length, `adding extra${extra} moved ${m.length} keys`);
      assert.ok(m.length > 0);
      for (const k of m) assert.equal(after.get(k), `http://extra${extra}:8080`);
    }
  });

  it('sends a down backend\'s keys to its ring neighbours only; all other keys stay put; they come back', () => {
    const ten = names(N);
    const s = ring(ten);
    const before = mapping(s, ten);
    const down = ten[3] as Backend;
    down.state.health = 'down';
    const during = mapping(s, ten);
    const receivers = new Set<string>();
    for (const k of KEYS) {
      if (before.get(k) === down.url) {
        assert.notEqual(during.get(k), down.url);
        receivers.add(during.get(k) as string);
      } else {
        assert.equal(during.get(k), before.get(k), `${k} moved although its backend is up`);
      }
    }
    // Virtual nodes spread the orphaned keys over several neighbours, not onto one backend.
    assert.ok(receivers.size >= 5, `only ${receivers.size} backends took the keys`);
    // The same result as removing the backend from the ring (keys go to the next distinct point).
    const nine = ten.filter((b) => b !== down);
    assert.deepEqual(during, mapping(ring(nine), nine));
    down.state.health = 'up';
    assert.deepEqual(mapping(s, ten), before);
  });

  it('walks past a tried backend to the next distinct one, and past several down ones', () => {
    const ten = names(N);
    const s = ring(ten);
    const first = s.select({ tried: new Set(), key: 'k1' }) as Backend;
    const second = s.select({ tried: new Set([first]), key: 'k1' }) as Backend;
    assert.ok(second && second !== first);
    for (const b of ten) if (b !== first && b !== second) b.state.health = 'down';
    assert.equal(s.select({ tried: new Set([first]), key: 'k1' }), second);
    assert.equal(s.select({ tried: new Set([first, second]), key: 'k1' }), undefined);
  });

  it('maps the same key to the same backend, every time and in every generation', () => {
    const a = names(N);
    const b = names(N); // a fresh generation: new objects, same URLs
    const m1 = mapping(ring(a), a);
    const m2 = mapping(ring(a), a);
    const m3 = mapping(ipHash.create(b), b);
    assert.deepEqual(m1, m2);
    assert.deepEqual(m1, m3);
    // The order of backends in lb.yaml does not matter either.
    const reversed = [...b].reverse();
    assert.deepEqual(mapping(ring(reversed), reversed), m1);
  });

  it('spreads keys roughly evenly and shifts the share in proportion to weight', () => {
    const even = mapping(ring(names(N)), names(N));
    const share = new Map<string, number>();
    for (const url of even.values()) share.set(url, (share.get(url) ?? 0) + 1);
    for (const [url, c] of share) assert.ok(c > 700 && c < 1300, `${url} has ${c} of 10,000 keys`);

    const weighted = [backend('heavy', 3), ...names(N - 1)];
    const m = mapping(ring(weighted), weighted);
    const heavy = [...m.values()].filter((u) => u === 'http://heavy:8080').length / KEYS.length;
    assert.ok(heavy > 0.2 && heavy < 0.3, `weight 3 of 12 took ${heavy}`); // ideal 0.25

    const pair = [backend('one', 1), backend('two', 2)];
    const p = mapping(ring(pair), pair);
    const two = [...p.values()].filter((u) => u === 'http://two:8080').length / KEYS.length;
    assert.ok(two > 0.6 && two < 0.73, `weight 2 of 3 took ${two}`); // ideal 0.667
  });

  it('falls back to round robin for a request without a key', () => {
    const three = names(3);
    const s = ring(three);
    const seq = Array.from({ length: 6 }, () => s.select({ tried: new Set() })?.url);
    assert.deepEqual(seq, [...three, ...three].map((b) => b.url));
  });
});

describe('hash32', () => {
  it('is a deterministic unsigned 32-bit hash that depends on every character and the seed', () => {
    assert.equal(hash32('abc'), hash32('abc'));
    assert.ok(Number.isInteger(hash32('abc')) && hash32('abc') >= 0 && hash32('abc') < 2 ** 32);
    assert.notEqual(hash32('url#1'), hash32('url#2'));
    assert.notEqual(hash32('abc', 1), hash32('abc', 2));
    assert.notEqual(hash32('é'), hash32('\u00e8'));
  });

  it('spreads similar strings over the whole range (top 4 bits roughly uniform)', () => {
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const h = hash32(`http://10.0.0.1:8080#${i}`);
      buckets[h >>> 28] = (buckets[h >>> 28] ?? 0) + 1;
    }
    for (const c of buckets) assert.ok(c > 850 && c < 1150, `bucket ${c}`);
  });
});
