/**
 * Active health checks against real backends (CONTRACT.md, Behaviour:
 * health probes): the HTTP check GETs healthCheck.path with a yalb
 * User-Agent, the first round runs before the listener opens (so a fresh
 * start never answers 503 for backends that are up, nor sends traffic to
 * one that is down), and the TCP check sends no HTTP at all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

/** statusEndpoint makes a backend answer GET /status with `code` and everything else normally. */
function statusEndpoint(b: TestBackend, code: () => number): void {
  b.behaviour = {
    kind: 'custom',
    handler: (req, res) => {
      if (req.url === '/status') {
        res.writeHead(code());
        res.end();
        return;
      }
      const body = `${b.name}\n`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  };
}

const probes = (b: TestBackend) => b.seen.filter((s) => s.url === '/status');

// Probes every second with a 1 s timeout (the interval may not be shorter than the timeout): with
// fall 1, or on the first probe, a probe slowed past a shorter timeout by a busy machine would
// take a live backend down.
const everySecond = 'interval: 1s\n  timeout: 1s';

test('the HTTP check probes healthCheck.path at once, before the first client request, as yalb-health', async (t) => {
  const bs = await startBackends(t, 2);
  for (const b of bs) statusEndpoint(b, () => 200);
  const { url, daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), 'healthCheck:\n  interval: 1m\n  path: /status\n'));
  // The listener is open now: every backend has been probed once already, long before the 1 min interval.
  for (const b of bs) {
    assert.equal(probes(b).length, 1, `${b.name} probed once before any client request`);
    assert.equal(b.seen.length, 1);
    const p = probes(b)[0]!;
    assert.equal(p.method, 'GET');
    assert.match(String(p.headers['user-agent']), /^yalb-health/);
    assert.equal(p.headers.host, new URL(b.url).host);
  }
  assert.equal(daemon.current.pool.availableCount(), 2);
  assert.equal((await request(url)).status, 200);
});

test('a backend whose health path fails is down from the start and gets no traffic', async (t) => {
  const [sick, well] = await startBackends(t, 2) as [TestBackend, TestBackend];
  statusEndpoint(sick, () => 503);
  statusEndpoint(well, () => 204);
  const { url, daemon } = await startTestDaemon(t, yamlConfig([sick.url, well.url], 'healthCheck:\n  interval: 1m\n  path: /status\n'));
  assert.deepEqual(daemon.current.pool.backends.map((b) => b.stateName), ['down', 'up']);
  for (let i = 0; i < 4; i++) {
    const r = await request(url);
    assert.equal(r.status, 200);
    assert.equal(r.body.trim(), 'b2');
  }
  assert.equal(sick.seen.filter((s) => s.url !== '/status').length, 0);
});

test('the health path decides: a backend comes back when its path passes again (rise 1, 1s interval)', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  let code = 500;
  statusEndpoint(b, () => code);
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b.url], `healthCheck:\n  ${everySecond}\n  path: /status\n  rise: 1\n  fall: 1\n`));
  assert.equal((await request(url)).status, 503);
  code = 200;
  await waitFor(() => daemon.current.pool.backends[0]!.stateName === 'up', { what: 'backend up', timeoutMs: 10_000 });
  assert.equal((await request(url)).status, 200);
  code = 500;
  await waitFor(() => daemon.current.pool.backends[0]!.stateName === 'down', { what: 'backend down', timeoutMs: 10_000 });
  assert.ok(probes(b).length >= 3);
});

test('without healthCheck.path the check is a TCP connect: the backend sees no HTTP request', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b.url], `healthCheck:\n  ${everySecond}\n`));
  assert.equal(daemon.current.pool.backends[0]!.state.lastProbe?.ok, true);
  // Wait for a few more probe rounds, then check the backend still saw no HTTP.
  const first = daemon.current.pool.backends[0]!.state.lastProbe!.at;
  await waitFor(() => daemon.current.pool.backends[0]!.state.lastProbe!.at > first, { what: 'a second probe', timeoutMs: 10_000 });
  assert.equal(b.hits, 0);
  assert.equal((await request(url)).status, 200);
  assert.equal(b.hits, 1);
});
