/**
 * Load-aware strategies over real HTTP: least-connections and random-two
 * send quick requests away from a backend that holds slow ones, and
 * least-connections spreads traffic again once the slow ones finish.
 * In-flight counts are read from the daemon's pool (the numbers the
 * strategies themselves compare); every wait has a deadline.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { type Reply, request, startTestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';
import type { Daemon } from '../../src/daemon/daemon.js';

/** Gate holds every request a backend receives until release() answers them with the backend's name. */
class Gate {
  readonly name: string;
  readonly held: http.ServerResponse[] = [];

  constructor(name: string) {
    this.name = name;
  }

  readonly handler: http.RequestListener = (_req, res) => {
    this.held.push(res);
  };

  release(): void {
    for (const res of this.held.splice(0)) {
      if (res.destroyed) continue;
      res.writeHead(200, { 'x-backend': this.name });
      res.end(`${this.name}\n`);
    }
  }
}

/** settle turns a request into a promise that never rejects (no unhandled rejection if teardown cuts it). */
function settle(p: Promise<Reply>): Promise<Reply | Error> {
  return p.then((r) => r, (e: unknown) => (e instanceof Error ? e : new Error(String(e))));
}

/** inFlight is the daemon's in-flight count for a backend (what least-connections / random-two compare). */
function inFlight(daemon: Daemon, b: TestBackend): number {
  const backend = daemon.current.pool.backend(b.url);
  assert.ok(backend, `${b.url} is not in the pool`);
  return backend.traffic.inFlight;
}

function yamlFor(strategy: string, backends: TestBackend[]): string {
  return `listen: 127.0.0.1:0\nstrategy: ${strategy}\nbackends:\n${backends.map((b) => `  - url: ${b.url}\n`).join('')}`;
}

test('least-connections: quick requests avoid a backend holding slow ones, then spread again', async (t) => {
  const [b1, b2] = (await startBackends(t, 2)) as [TestBackend, TestBackend];
  const { url, daemon } = await startTestDaemon(t, yamlFor('least-connections', [b1, b2]), { drainMs: 500 });
  const gate = new Gate('b2');
  t.after(() => gate.release());
  b1.behaviour = { kind: 'delay', ms: 2500 };
  b2.behaviour = { kind: 'custom', handler: gate.handler };

  // Six requests, one at a time: least-connections must balance them 3/3.
  const slow: Promise<Reply | Error>[] = [];
  for (let i = 0; i < 6; i++) {
    slow.push(settle(request(url)));
    await waitFor(() => b1.hits + b2.hits === i + 1, { timeoutMs: 3000, what: `request ${i + 1} to reach a backend` });
  }
  assert.equal(b1.hits, 3, 'least-connections did not balance the six held requests 3/3');
  assert.equal(b2.hits, 3);
  assert.equal(inFlight(daemon, b1), 3);
  assert.equal(inFlight(daemon, b2), 3);

  // b2's three finish; b1 keeps its three slow ones (delay 2.5 s).
  const onB2 = gate.held.length;
  assert.equal(onB2, 3);
  gate.release();
  await waitFor(() => inFlight(daemon, b2) === 0, { timeoutMs: 3000, what: 'b2 to finish its requests' });
  // From now on both answer at once: a quick request sent to b1 by mistake is counted, not stuck.
  b1.behaviour = { kind: 'ok' };
  b2.behaviour = { kind: 'ok' };

  const quick: string[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    quick.push(r.body.trim());
  }
  assert.equal(inFlight(daemon, b1), 3, 'the slow requests ended before the quick ones were done; the test proved nothing');
  assert.deepEqual(quick, Array.from({ length: 20 }, () => 'b2'), 'quick requests went to the backend holding slow ones');
  assert.equal(b1.hits, 3);

  // The slow ones finish (after their delay); then traffic spreads over both again.
  const slowReplies = await Promise.all(slow);
  const names = slowReplies.map((r) => (r instanceof Error ? r.message : `${r.status} ${r.body.trim()}`)).sort();
  assert.deepEqual(names, ['200 b1', '200 b1', '200 b1', '200 b2', '200 b2', '200 b2']);
  await waitFor(() => inFlight(daemon, b1) === 0, { timeoutMs: 3000, what: 'b1 to finish its slow requests' });
  const after: Record<string, number> = { b1: 0, b2: 0 };
  for (let i = 0; i < 20; i++) {
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    after[r.body.trim()] = (after[r.body.trim()] ?? 0) + 1;
  }
  assert.ok((after.b1 ?? 0) >= 5 && (after.b2 ?? 0) >= 5, `traffic did not spread again: ${JSON.stringify(after)}`);
});

test('random-two: quick requests avoid a backend holding slow ones (none of 50)', async (t) => {
  const [b1, b2, b3] = (await startBackends(t, 3)) as [TestBackend, TestBackend, TestBackend];
  const { url, daemon } = await startTestDaemon(t, yamlFor('random-two', [b1, b2, b3]), { drainMs: 500 });
  const gates = [new Gate('b1'), new Gate('b2'), new Gate('b3')] as const;
  t.after(() => gates.forEach((g) => g.release()));
  [b1, b2, b3].forEach((b, i) => {
    b.behaviour = { kind: 'custom', handler: gates[i]!.handler };
  });

  // Every backend holds what it gets; send held requests one at a time until b1 holds three.
  const held: Promise<Reply | Error>[] = [];
  const total = () => b1.hits + b2.hits + b3.hits;
  for (let i = 0; i < 30 && inFlight(daemon, b1) < 3; i++) {
    held.push(settle(request(url)));
    await waitFor(() => total() === i + 1, { timeoutMs: 3000, what: `request ${i + 1} to reach a backend` });
  }
  assert.equal(inFlight(daemon, b1), 3, 'b1 never got three held requests in 30 tries');

  // b2 and b3 answer theirs; b1 keeps three in flight.
  const onB1 = gates[0].held.length;
  gates[1].release();
  gates[2].release();
  await waitFor(() => inFlight(daemon, b2) === 0 && inFlight(daemon, b3) === 0, { timeoutMs: 3000, what: 'b2 and b3 to finish' });
  for (const b of [b1, b2, b3]) b.behaviour = { kind: 'ok' };

  const counts: Record<string, number> = { b1: 0, b2: 0, b3: 0 };
  for (let i = 0; i < 50; i++) {
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1;
  }
  assert.equal(inFlight(daemon, b1), 3);
  // The two draws are distinct backends, so every pair holds b2 or b3; sent one at a time, the quick
  // requests leave each of those at most one in flight (the previous answer's count not yet
  // dropped), fewer than b1's three at equal weights. So the lighter of any pair is never b1.
  assert.equal(counts.b1, 0, `random-two sent ${counts.b1} of 50 quick requests to the busy backend: ${JSON.stringify(counts)}`);
  assert.ok((counts.b2 ?? 0) > 0 && (counts.b3 ?? 0) > 0, `quick requests did not use both idle backends: ${JSON.stringify(counts)}`);

  gates[0].release();
  const replies = await Promise.all(held);
  for (const r of replies) {
    assert.ok(!(r instanceof Error), `held request failed: ${(r as Error).message}`);
    assert.equal(r.status, 200);
  }
  assert.equal(replies.filter((r) => !(r instanceof Error) && r.body.trim() === 'b1').length, onB1);
});
