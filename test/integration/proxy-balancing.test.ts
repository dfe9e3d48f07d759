/**
 * Balancing across real backends: round robin, failover when a backend
 * stops and revival when it comes back (active checks), and 503 when
 * nothing is up (CONTRACT.md, Behaviour: first bullet).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

// Probes every second with a 1 s timeout: with fall 1, a probe slowed past a shorter timeout by a
// busy machine would take a live backend down. rise 3: a backend that listens again stays down for
// two probe intervals (about 2 s) at least, the window in which the failover test checks that no
// request reaches it.
const fastHealth = 'healthCheck:\n  interval: 1s\n  timeout: 1s\n  rise: 3\n  fall: 1\n';

/**
 * The 503 and 502 below must come at once, not after a timeout: the yaml sets every timeout they
 * could wait on (timeouts.connect, healthCheck.timeout) to 10 s, and PROMPT_MS is well below that
 * while leaving a busy machine seconds for what normally takes a few ms.
 */
const PROMPT_MS = 3000;
const slowFallbacks = 'timeouts:\n  connect: 10s\nhealthCheck:\n  interval: 1m\n  timeout: 10s\n';

test('round robin spreads 30 requests 10/10/10 over three backends', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url)));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 30; i++) {
    const r = await request(url);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-backend'], r.body.trim());
    counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1;
  }
  assert.deepEqual(counts, { b1: 10, b2: 10, b3: 10 });
});

test('a stopped backend is failed over without errors, and takes traffic again once it is back', async (t) => {
  const bs = await startBackends(t, 2);
  const [b1, b2] = bs as [typeof bs[0], typeof bs[0]];
  const { url, daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), fastHealth));
  const state = (i: number) => daemon.current.pool.backends[i]!.stateName;

  await b2.stop();
  // Every request is answered while b2 is gone: before the probe notices, the retry loop moves on.
  for (let i = 0; i < 6; i++) {
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body.trim(), 'b1');
  }
  await waitFor(() => state(1) === 'down', { what: 'b2 down', timeoutMs: 10_000 });

  const before = b2.hits;
  await b2.start();
  // b2 answers again but is still marked down: round robin would give it every other request.
  const whileDown: string[] = [];
  for (let i = 0; i < 4; i++) whileDown.push((await request(url)).body.trim());
  // A request the daemon sent b2 anyway (a copy, a stray retry) may land after the client's answer:
  // watch for one until a deadline.
  await assert.rejects(waitFor(() => b2.hits > before, { timeoutMs: 500, what: 'a request at b2' }), /timed out/,
    'a request reached b2 while it was marked down');
  assert.equal(state(1), 'down', 'b2 came up during the check, which then proved nothing');
  assert.deepEqual(whileDown, ['b1', 'b1', 'b1', 'b1']);
  assert.equal(b2.hits, before);
  await waitFor(() => state(1) === 'up', { what: 'b2 up again', timeoutMs: 10_000 });
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const r = await request(url);
    assert.equal(r.status, 200);
    seen.add(r.body.trim());
  }
  assert.deepEqual([...seen].sort(), ['b1', 'b2']);
  assert.ok(b2.hits > before && b1.hits > 0);
});

test('no backend up → 503 at once, with X-Yalb-Error and Retry-After', async (t) => {
  const [p1, p2] = [await deadPort(), await deadPort()];
  const { url, daemon } = await startTestDaemon(t, yamlConfig([`http://127.0.0.1:${p1}`, `http://127.0.0.1:${p2}`], slowFallbacks));
  // The first probe round ran before the listener opened: both are already down.
  assert.equal(daemon.current.pool.availableCount(), 0);
  const start = performance.now();
  const r = await request(url);
  const ms = performance.now() - start;
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_NO_BACKEND');
  assert.equal(r.headers['retry-after'], '1');
  assert.ok(ms < PROMPT_MS, `503 took ${ms} ms`);
});

test('backends that die while believed up → 502 promptly, then 503', async (t) => {
  const bs = await startBackends(t, 2);
  const { url, daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), `${slowFallbacks}retry:\n  sameBackend: 3\n  delay: 10ms\n`));
  for (const b of bs) await b.stop();
  const start = performance.now();
  const r = await request(url);
  const ms = performance.now() - start;
  // Each backend: 1 try + 3 retries 10 ms apart, then marked down; the second backend likewise.
  assert.equal(r.status, 502, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_UPSTREAM_CONNECT');
  assert.ok(ms < PROMPT_MS, `502 took ${ms} ms`);
  assert.deepEqual(daemon.current.pool.backends.map((b) => b.stateName), ['down', 'down']);
  const r2 = await request(url);
  assert.equal(r2.status, 503);
  assert.equal(r2.headers['x-yalb-error'], 'YALB_ERR_NO_BACKEND');
});
