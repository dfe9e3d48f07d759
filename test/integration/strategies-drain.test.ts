/**
 * Every strategy name end to end: each one validates with the config loader
 * (loadConfig, parseConfigText, `yalb check`), and under each one a backend
 * with `drain: true` never gets a request over real HTTP — also not when a
 * sticky cookie names it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCheck } from '../../src/cli/commands/check.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { STRATEGY_NAMES } from '../../src/config/schema.js';
import { stickyId } from '../../src/pool/sticky.js';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { deadPort } from '../helpers/ports.js';
import { request, startTestDaemon, tempDir } from '../helpers/daemon.js';

/** ALL_STRATEGIES is the list issue 5 names; the schema must accept exactly these. */
const ALL_STRATEGIES = ['round-robin', 'weighted-round-robin', 'least-connections', 'random-two', 'ip-hash', 'hash'] as const;

function yamlFor(strategy: string, backends: { url: string; drain?: boolean; weight?: number }[], extra = ''): string {
  const hashKey = strategy === 'hash' ? 'hashKey: header:X-User\n' : '';
  const list = backends.map((b) => `  - url: ${b.url}\n${b.weight ? `    weight: ${b.weight}\n` : ''}${b.drain ? '    drain: true\n' : ''}`).join('');
  return `listen: 127.0.0.1:0\nstrategy: ${strategy}\n${hashKey}${extra}backends:\n${list}`;
}

test('every strategy name validates with the config loader and yalb check', async (t) => {
  assert.deepEqual([...STRATEGY_NAMES].sort(), [...ALL_STRATEGIES].sort(), 'the schema and issue 5 disagree on the names');
  const dir = tempDir(t);
  const backends = [{ url: 'http://127.0.0.1:3031', weight: 3 }, { url: 'http://127.0.0.1:3032', drain: true }];
  for (const name of ALL_STRATEGIES) {
    for (const sticky of [false, true]) {
      const text = yamlFor(name, backends, sticky ? 'sticky:\n  cookie: yalb_sticky\n' : '');
      const file = path.join(dir, `${name}${sticky ? '-sticky' : ''}.yaml`);
      writeFileSync(file, text);
      const loaded = await loadConfig(file);
      assert.ok(loaded.ok, `${name}: ${JSON.stringify(loaded.ok ? null : loaded.issues)}`);
      assert.equal(loaded.config.strategy, name);
      assert.equal(loaded.config.sticky?.cookie, sticky ? 'yalb_sticky' : undefined);
      assert.deepEqual(loaded.config.backends.map((b) => [b.weight, b.drain]), [[3, false], [1, true]]);
      if (name === 'hash') assert.deepEqual(loaded.config.hashKey, { kind: 'header', name: 'x-user' });
      const parsed = parseConfigText(text, 'lb.yaml');
      assert.ok(parsed.ok, `${name} (parseConfigText)`);
      const out: string[] = [];
      const code = await runCheck(['-c', file], { out: (s) => out.push(s), err: (s) => out.push(s) });
      assert.equal(code, 0, `yalb check ${name}: ${out.join('\n')}`);
    }
  }
  for (const key of ['ip', 'header:X-User', 'cookie:sid', 'query:user']) {
    const r = parseConfigText(`strategy: hash\nhashKey: ${key}\nbackends:\n  - url: http://127.0.0.1:3031\n`, 'lb.yaml');
    assert.ok(r.ok, `hashKey ${key}`);
  }

  // The loader can say no: a misspelt name, hashKey without hash, and a bad hashKey are rejected at their line.
  const bad: [string, number, RegExp][] = [
    ['strategy: least-conn\nbackends:\n  - url: http://127.0.0.1:3031\n', 1, /strategy/],
    ['strategy: ip-hash\nhashKey: header:X-User\nbackends:\n  - url: http://127.0.0.1:3031\n', 2, /hashKey/],
    ['strategy: hash\nhashKey: body:x\nbackends:\n  - url: http://127.0.0.1:3031\n', 2, /hashKey/],
    ['strategy: round-robin\nsticky:\n  cookie: "a b"\nbackends:\n  - url: http://127.0.0.1:3031\n', 3, /sticky/],
  ];
  for (const [text, line, what] of bad) {
    const r = parseConfigText(text, 'lb.yaml');
    assert.ok(!r.ok, `accepted: ${text}`);
    assert.ok(r.issues.some((i) => i.line === line && (what.test(i.path) || what.test(i.message))),
      `expected an issue on line ${line} about ${what}: ${JSON.stringify(r.issues)}`);
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, text);
    assert.equal(await runCheck(['-c', file], { out: () => {}, err: () => {} }), 1, `yalb check accepted: ${text}`);
  }
});

test('a backend with drain: true never gets a request, under every strategy', async (t) => {
  for (const name of ALL_STRATEGIES) {
    await t.test(name, async (st) => {
      const [b1, b2, b3] = (await startBackends(st, 3)) as [TestBackend, TestBackend, TestBackend];
      const { url, daemon } = await startTestDaemon(st, yamlFor(name, [
        { url: b1.url }, { url: b2.url, drain: true }, { url: b3.url },
      ]));
      const drained = daemon.current.pool.backend(b2.url);
      assert.equal(drained?.stateName, 'draining');
      assert.equal(drained?.state.health, 'up', 'the drained backend should be healthy: only drain keeps it out');
      for (let i = 0; i < 30; i++) {
        // Distinct keys for the hash strategies: a user id, a client address.
        const r = name === 'ip-hash'
          ? await request(url, { localAddress: `127.0.0.${i + 1}` })
          : await request(url, { headers: { 'X-User': `user-${i}` } });
        assert.equal(r.status, 200, r.body);
        assert.notEqual(r.body.trim(), 'b2', `${name} sent request ${i + 1} to the draining backend`);
      }
      assert.equal(b2.hits, 0, `${name}: the draining backend got ${b2.hits} requests`);
      assert.equal(b1.hits + b3.hits, 30);
      assert.ok(b1.hits > 0 && b3.hits > 0, `${name}: b1 ${b1.hits}, b3 ${b3.hits}`);
    });
  }
});

test('drain: true holds in panic mode too (healthCheck.panicBelow), under every strategy', async (t) => {
  for (const name of ALL_STRATEGIES) {
    await t.test(name, async (st) => {
      const [b1, b2] = (await startBackends(st, 2)) as [TestBackend, TestBackend];
      const dead = `http://127.0.0.1:${await deadPort()}`;
      // One of the two non-draining backends is down: 50 % healthy < 60 %, so down backends become eligible.
      const { url, daemon } = await startTestDaemon(st, yamlFor(name, [
        { url: b1.url }, { url: b2.url, drain: true }, { url: dead },
      ], 'healthCheck:\n  panicBelow: 60%\nretry:\n  sameBackend: 0\n'));
      assert.equal(daemon.current.pool.backend(dead)?.state.health, 'down', 'the start-up probe did not mark the dead backend down');
      assert.equal(daemon.current.pool.panicking(), true, 'the pool is not in panic mode; the test proves nothing');
      for (let i = 0; i < 20; i++) {
        const r = name === 'ip-hash'
          ? await request(url, { localAddress: `127.0.0.${i + 1}` })
          : await request(url, { headers: { 'X-User': `user-${i}` } });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.body.trim(), 'b1', `${name}: request ${i + 1} was not served by the only live, non-draining backend`);
      }
      assert.equal(b2.hits, 0, `${name}: the draining backend got ${b2.hits} requests in panic mode`);
      assert.equal(b1.hits, 20);
    });
  }
});

test('a sticky cookie naming a draining backend is ignored, under every strategy', async (t) => {
  for (const name of ALL_STRATEGIES) {
    await t.test(name, async (st) => {
      const [b1, b2, b3] = (await startBackends(st, 3)) as [TestBackend, TestBackend, TestBackend];
      const { url } = await startTestDaemon(st, yamlFor(name, [
        { url: b1.url }, { url: b2.url, drain: true }, { url: b3.url },
      ], 'sticky:\n  cookie: yalb_sticky\n'));
      const drainedId = stickyId(b2.url);
      for (let i = 0; i < 10; i++) {
        const r = await request(url, { headers: { cookie: `yalb_sticky=${drainedId}`, 'X-User': `user-${i}` } });
        assert.equal(r.status, 200, r.body);
        const served = r.body.trim();
        assert.notEqual(served, 'b2', `${name}: a cookie sent request ${i + 1} to the draining backend`);
        const set = (r.headers['set-cookie'] ?? []).find((l) => l.startsWith('yalb_sticky='));
        const expected = stickyId((served === 'b1' ? b1 : b3).url);
        assert.equal(set?.split(';')[0], `yalb_sticky=${expected}`, `${name}: cookie not reset to ${served}`);
      }
      assert.equal(b2.hits, 0);
    });
  }
});
