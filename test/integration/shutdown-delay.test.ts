/**
 * shutdown.delay (rolling updates): on stop, /healthz answers 503 at once
 * while the listener keeps serving new connections for the delay, so the
 * Service or outer balancer stops routing first; then the drain as usual.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

test('shutdown.delay: /healthz 503 at once, new requests still served during the delay, then the listener closes', async (t) => {
  const [b1] = await startBackends(t, 1);
  const admin = await deadPort();
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b1!.url], `admin:\n  listen: 127.0.0.1:${admin}\nshutdown:\n  delay: 800ms\n`));
  assert.equal((await request(`http://127.0.0.1:${admin}/healthz`)).status, 200);
  const t0 = performance.now();
  const stopped = daemon.stop();
  assert.equal((await request(`http://127.0.0.1:${admin}/healthz`)).status, 503, 'healthz fails at once');
  const during = await request(url, { agent: false });
  assert.equal(during.status, 200, 'a new connection during the delay is served');
  assert.ok(performance.now() - t0 < 800);
  await stopped;
  assert.ok(performance.now() - t0 >= 780, `stopped after ${Math.round(performance.now() - t0)} ms`);
  await waitFor(async () => request(url, { agent: false }).then(() => false, () => true), { what: 'the listener closed' });
});
