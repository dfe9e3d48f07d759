/**
 * The ends of a request's life (CONTRACT.md, Behaviour): a client that goes
 * away is a 499 that never counts against the backend, and stop() drains:
 * it stops accepting, lets the request in flight finish, then resolves.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const inFlight = (d: { status(): unknown }) => (d.status() as { inFlight: number }).inFlight;

/** connectOutcome opens a TCP connection to 127.0.0.1:port and says how it went: 'connected', an error code, or 'timeout'. */
function connectOutcome(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const finish = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.once('connect', () => finish('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  });
}

test('a client that aborts while the backend is slow counts no failure against the backend', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  let backendAborted = 0;
  b.behaviour = {
    kind: 'custom',
    handler: (_req, res) => {
      const timer = setTimeout(() => res.end('late\n'), 3000);
      res.on('close', () => {
        clearTimeout(timer);
        if (!res.writableFinished) backendAborted++;
      });
    },
  };
  // Passive checks eject after a single failure here, so a wrongly counted abort would show.
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b.url], 'passive:\n  consecutiveFailures: 1\n'));
  for (let i = 0; i < 3; i++) {
    const req = http.get(url, { agent: false });
    req.on('error', () => {});
    await waitFor(() => b.hits === i + 1, { what: `request ${i + 1} at the backend` });
    req.destroy();
    await waitFor(() => inFlight(daemon) === 0, { what: 'request ended on the balancer' });
  }
  await waitFor(() => backendAborted === 3, { what: 'backend requests aborted too' });
  const s = daemon.current.pool.backends[0]!;
  assert.equal(s.traffic.failures, 0);
  assert.equal(s.state.consecutiveFailures <= 0, true);
  assert.equal(s.stateName, 'up');
  b.behaviour = { kind: 'ok' };
  assert.equal((await request(url)).status, 200);
});

test('stop() while a slow request is in flight: the request completes 200, new connections are refused, stop() resolves', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  b.behaviour = { kind: 'delay', ms: 1200 };
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b.url]), { drainMs: 5000 });
  const port = daemon.address.port;
  const slow = request(url);
  await waitFor(() => b.hits === 1, { what: 'slow request at the backend' });
  const started = performance.now();
  let stopped = false;
  const stopping = daemon.stop().then(() => { stopped = true; });
  await waitFor(() => daemon.draining(), { what: 'draining' });
  // The listener is closed while the slow request is still running: a new connection is refused by
  // the kernel (ECONNREFUSED), not accepted and then dropped or left unanswered. draining() turns
  // true a moment before the listener closes, hence the poll; it gives up well before the slow
  // request (1.2 s) ends, so a listener closed only after the drain cannot pass.
  let outcome = '';
  await waitFor(async () => (outcome = await connectOutcome(port, 300)) === 'ECONNREFUSED', { timeoutMs: 600, intervalMs: 10, what: 'a refused connection' })
    .catch(() => assert.fail(`a new connection during the drain was not refused: ${outcome}`));
  assert.equal(stopped, false, 'stop() must wait for the request in flight');
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal(r.body.trim(), 'b1');
  await stopping;
  const ms = performance.now() - started;
  assert.ok(ms < 3000, `stop() took ${ms} ms`);
});
