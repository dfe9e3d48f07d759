/**
 * Hash strategies over real HTTP: `hash` with `hashKey: header:X-User`
 * keeps each user on one backend and spreads users over several; `ip-hash`
 * keeps a client address on one backend (clients bind distinct 127.0.0.x
 * source addresses, all loopback on Linux); `hash` without the key falls
 * back to round robin.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { type Reply, request, startTestDaemon } from '../helpers/daemon.js';

function yamlFor(strategy: string, backends: TestBackend[], extra = ''): string {
  return `listen: 127.0.0.1:0\nstrategy: ${strategy}\n${extra}backends:\n${backends.map((b) => `  - url: ${b.url}\n`).join('')}`;
}

/** served checks a reply and returns the name of the backend that answered. */
function served(r: Reply): string {
  assert.equal(r.status, 200, r.body);
  return r.body.trim();
}

test('hash with hashKey header:X-User keeps each of 10 users on one backend over 100 requests', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlFor('hash', bs, 'hashKey: header:X-User\n'));
  const users = Array.from({ length: 10 }, (_, i) => `user-${i}`);
  const seen = new Map<string, Set<string>>(users.map((u) => [u, new Set()]));
  // Interleaved: user-0, user-1, …, user-9, user-0, … (round robin would scatter every user).
  for (let round = 0; round < 10; round++) {
    for (const u of users) seen.get(u)!.add(served(await request(url, { headers: { 'X-User': u } })));
  }
  for (const [u, backends] of seen) {
    assert.equal(backends.size, 1, `${u} landed on ${[...backends].join(', ')}`);
  }
  const used = new Set([...seen.values()].map((s) => [...s][0]));
  assert.ok(used.size > 1, `all 10 users went to ${[...used].join(', ')}: the key does not spread`);
  assert.equal(bs.reduce((n, b) => n + b.hits, 0), 100);
});

test('ip-hash keeps one client address on one backend, and spreads 20 addresses', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlFor('ip-hash', bs));
  const first = new Set<string>();
  for (let i = 0; i < 20; i++) first.add(served(await request(url)));
  assert.equal(first.size, 1, `one client (127.0.0.1) landed on ${[...first].join(', ')}`);

  const byAddress = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round++) {
    for (let i = 1; i <= 20; i++) {
      const addr = `127.0.0.${i}`;
      const set = byAddress.get(addr) ?? new Set<string>();
      set.add(served(await request(url, { localAddress: addr })));
      byAddress.set(addr, set);
    }
  }
  for (const [addr, backends] of byAddress) {
    assert.equal(backends.size, 1, `client ${addr} landed on ${[...backends].join(', ')}`);
  }
  assert.deepEqual(byAddress.get('127.0.0.1'), first, 'the same address moved between the two phases');
  const used = new Set([...byAddress.values()].map((s) => [...s][0]));
  assert.ok(used.size > 1, `20 client addresses all went to ${[...used].join(', ')}`);
});

test('hash without the X-User header (or with it empty) falls back to round robin', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlFor('hash', bs, 'hashKey: header:X-User\n'));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const name = served(await request(url));
    counts[name] = (counts[name] ?? 0) + 1;
  }
  assert.deepEqual(counts, { b1: 10, b2: 10, b3: 10 }, 'keyless requests were not spread by round robin');

  const empty: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const name = served(await request(url, { headers: { 'X-User': '' } }));
    empty[name] = (empty[name] ?? 0) + 1;
  }
  assert.deepEqual(empty, { b1: 10, b2: 10, b3: 10 }, 'an empty X-User was hashed instead of falling back');
});
