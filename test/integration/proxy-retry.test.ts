/**
 * Retry and replay with real backends (CONTRACT.md, Behaviour: retry): a
 * refused connect is retried elsewhere for any method (body intact, buffered
 * or streamed); a POST that reached a backend which then died is never
 * replayed; a response timeout is 504 for a POST and a failover for a GET.
 * Each failure carries the X-Yalb-Error code the README's table names.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { sha256 } from '../helpers/raw.js';

/**
 * PROMPT_MS bounds "after timeouts.response" (400 ms) or "after timeouts.idle" (300 ms) from above:
 * several times those, for a busy machine, yet far below the 10 s of the other timeout (set
 * explicitly in each yaml) that would end the stalled exchange if the one under test were not
 * applied. The client waits longer than both.
 */
const PROMPT_MS = 3000;
const CLIENT_WAIT_MS = 20_000;

/** deadAndLive starts a daemon on [a refusing port, b1]; the refusing backend is forced up so requests go there first. */
async function deadAndLive(t: TestContext, extra = '') {
  const [live] = await startBackends(t, 1) as [TestBackend];
  const dead = await deadPort();
  const d = await startTestDaemon(t, yamlConfig([`http://127.0.0.1:${dead}`, live.url], extra));
  // The first probe marked the refusing port down; force it up to exercise the retry loop.
  d.daemon.current.pool.backends[0]!.state.health = 'up';
  return { ...d, live };
}

test('a GET whose connect is refused is answered by the next backend; the refusing one is marked down', async (t) => {
  const { url, daemon, live } = await deadAndLive(t);
  const r = await request(url);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body.trim(), 'b1');
  assert.equal(live.hits, 1);
  assert.equal(daemon.current.pool.backends[0]!.stateName, 'down');
});

test('a POST whose connect is refused is sent to another backend with its buffered body intact', async (t) => {
  const { url, live } = await deadAndLive(t);
  const body = randomBytes(10 * 1024);
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(live.seen.length, 1);
  assert.equal(live.seen[0]!.method, 'POST');
  assert.equal(live.seen[0]!.headers['content-length'], String(body.length));
  assert.equal(sha256(live.seen[0]!.body), sha256(body));
});

test('a POST above bufferLimit whose connect is refused is still sent elsewhere in full (the body waits for a connected socket)', async (t) => {
  const { url, live } = await deadAndLive(t);
  const body = randomBytes(200 * 1024);
  const r = await request(url, { method: 'POST', body });
  assert.equal(r.status, 200, r.body);
  assert.equal(live.seen.length, 1);
  assert.equal(live.seen[0]!.body.length, body.length);
  assert.equal(sha256(live.seen[0]!.body), sha256(body));
});

test('a POST that reached a backend which then died is not replayed (502); a GET in the same spot is', async (t) => {
  const [dying, other] = await startBackends(t, 2) as [TestBackend, TestBackend];
  dying.behaviour = { kind: 'hangup' }; // reads the whole body, then destroys the socket
  const { url } = await startTestDaemon(t, yamlConfig([dying.url, other.url]));

  const body = Buffer.from('{"order":42}');
  const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 502, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_UPSTREAM_RESET');
  assert.equal(dying.seen.length, 1);
  assert.deepEqual(dying.seen[0]!.body, body);
  assert.equal(other.seen.filter((s) => s.method === 'POST').length, 0, 'the other backend got no POST');

  // Round robin: the next request goes to `other`, the one after to `dying` again.
  assert.equal((await request(url)).status, 200);
  const g = await request(url);
  assert.equal(g.status, 200, g.body);
  assert.equal(g.body.trim(), 'b2');
  assert.equal(dying.seen.filter((s) => s.method === 'GET').length, 1, 'the GET reached the dying backend first');
  assert.equal(other.seen.filter((s) => s.method === 'GET').length, 2);
});

test('a backend that stalls before its headers: a POST gets 504 after timeouts.response and is not replayed', async (t) => {
  const [stall, other] = await startBackends(t, 2) as [TestBackend, TestBackend];
  stall.behaviour = { kind: 'stall' };
  const { url } = await startTestDaemon(t, yamlConfig([stall.url, other.url], 'timeouts:\n  response: 400ms\n  idle: 10s\n'));
  const start = performance.now();
  const r = await request(url, { method: 'POST', body: 'x=1', timeoutMs: CLIENT_WAIT_MS });
  const ms = performance.now() - start;
  assert.equal(r.status, 504, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_UPSTREAM_TIMEOUT');
  assert.ok(ms >= 380 && ms < PROMPT_MS, `504 after ${ms} ms`);
  assert.equal(stall.hits, 1);
  assert.equal(other.hits, 0);
});

test('a backend that stalls before its headers: a GET fails over to the next backend after timeouts.response', async (t) => {
  const [stall, other] = await startBackends(t, 2) as [TestBackend, TestBackend];
  stall.behaviour = { kind: 'stall' };
  const { url } = await startTestDaemon(t, yamlConfig([stall.url, other.url], 'timeouts:\n  response: 400ms\n  idle: 10s\n'));
  const start = performance.now();
  const r = await request(url, { timeoutMs: CLIENT_WAIT_MS });
  const ms = performance.now() - start;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body.trim(), 'b2');
  assert.equal(stall.hits, 1);
  assert.ok(ms >= 380 && ms < PROMPT_MS, `failed over after ${ms} ms`);
});

test('a GET that stalls on every backend is 504 once maxAttempts backends timed out', async (t) => {
  const bs = await startBackends(t, 3);
  for (const b of bs) b.behaviour = { kind: 'stall' };
  const { url } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), 'timeouts:\n  response: 200ms\nretry:\n  maxAttempts: 2\n'));
  const r = await request(url);
  assert.equal(r.status, 504);
  assert.deepEqual(bs.map((b) => b.hits), [1, 1, 0]);
});

test('a backend that goes idle before its headers (timeouts.idle < timeouts.response) → 504 YALB_ERR_UPSTREAM_IDLE', async (t) => {
  const [stall, other] = await startBackends(t, 2) as [TestBackend, TestBackend];
  stall.behaviour = { kind: 'stall' };
  const { url } = await startTestDaemon(t, yamlConfig([stall.url, other.url], 'timeouts:\n  idle: 300ms\n  response: 10s\n'));
  const start = performance.now();
  const r = await request(url, { timeoutMs: CLIENT_WAIT_MS });
  const ms = performance.now() - start;
  assert.equal(r.status, 504, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_UPSTREAM_IDLE');
  assert.ok(ms >= 280 && ms < PROMPT_MS, `504 after ${ms} ms`);
  assert.equal(other.hits, 0);
});

test('a GET reset on one backend and refused by the next → 502 YALB_ERR_ATTEMPTS_EXHAUSTED (not only connect failures)', async (t) => {
  const [dying] = await startBackends(t, 1) as [TestBackend];
  dying.behaviour = { kind: 'hangup' };
  const dead = await deadPort();
  const { url, daemon } = await startTestDaemon(t, yamlConfig([dying.url, `http://127.0.0.1:${dead}`]));
  daemon.current.pool.backends[1]!.state.health = 'up';
  const r = await request(url);
  assert.equal(r.status, 502, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_ATTEMPTS_EXHAUSTED');
  assert.equal(dying.hits, 1);
  assert.equal(daemon.current.pool.backends[1]!.stateName, 'down');
});

test('twelve refused connects in one request (3 backends × 4 tries) raise no listener-leak warning', async (t) => {
  const ports = [await deadPort(), await deadPort(), await deadPort()];
  const { url, daemon } = await startTestDaemon(t, yamlConfig(ports.map((p) => `http://127.0.0.1:${p}`)));
  for (const b of daemon.current.pool.backends) b.state.health = 'up';
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const r = await request(url);
  assert.equal(r.status, 502);
  // warnings are emitted on the next tick
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings.filter((w) => w.includes('MaxListeners')), []);
});
