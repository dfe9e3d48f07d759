/**
 * Taking backends out and bringing them in gently, end to end: drain (the
 * in-flight request finishes, no new requests — sticky ones included — the
 * backend is still probed, /status says draining) and slow start (the share
 * of a backend that just came up grows over slowStart with
 * weighted-round-robin). Issue 4.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { stickyId } from '../../src/pool/sticky.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { burst, HealthScript, tally } from '../helpers/scripted.js';
import { waitFor } from '../helpers/wait.js';

// 1 s probe timeout: a probe slowed by a busy machine still passes (200 ms did not always); the
// interval may not be shorter. WAIT_MS bounds a wait for a few probe rounds.
const checks = `healthCheck:
  interval: 1s
  timeout: 1s
  path: /health
  rise: 2
`;

const WAIT_MS = 10_000;

/** drainYaml renders the pool with b1 draining or not. */
function drainYaml(b1: string, b2: string, drain: boolean): string {
  return `listen: 127.0.0.1:0
sticky:
  cookie: yalb_sticky
backends:
  - url: ${b1}
    drain: ${drain}
  - url: ${b2}
${checks}`;
}

test('drain: the in-flight request finishes, no new requests (sticky included), still probed, /status says draining', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const s1 = new HealthScript(b1!);
  s1.answer = { kind: 'delay', ms: 600 };
  const { daemon, url, file, logs } = await startTestDaemon(t, drainYaml(b1!.url, b2!.url, false), { watch: false });

  await waitFor(() => daemon.current.pool.availableCount() === 2, { timeoutMs: WAIT_MS, what: 'both up' });
  // A fresh round robin starts on b1: this request is slow and in flight during the reload.
  const started = Date.now();
  const slow = request(url, { timeoutMs: 5000 });
  await waitFor(() => s1.traffic === 1, { timeoutMs: 2000, what: 'slow request at b1' });

  writeFileSync(file, drainYaml(b1!.url, b2!.url, true));
  const result = await daemon.reload('test');
  assert.ok(result.ok && result.applied, JSON.stringify(result));
  assert.ok(logs.has(`${b1!.url} draining`), 'the reload logs the drain');
  const shown = (daemon.status() as { backends: Array<{ url: string; state: string }> }).backends;
  assert.deepEqual(shown.map((b) => b.state), ['draining', 'up']);

  const fresh = tally(await burst(url, 8, 2));
  const pinned = await request(url, { headers: { cookie: `yalb_sticky=${stickyId(b1!.url)}` } });
  assert.deepEqual(fresh, { b2: 8 });
  assert.equal(pinned.body, 'b2\n', 'a client pinned to the draining backend goes elsewhere');
  assert.equal(s1.traffic, 1, 'no new request reached the draining backend');

  const r = await slow;
  const finishedMs = Date.now() - started;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b1\n');

  const probes = s1.probes;
  await waitFor(() => s1.probes >= probes + 2, { timeoutMs: WAIT_MS, what: 'probes of the draining backend' });
  assert.equal(daemon.current.pool.backends[0]!.stateName, 'draining');
  t.diagnostic(`drain: the in-flight request finished with 200 after ${finishedMs} ms; 9 new requests, 0 to the draining backend; probes went on`);
});

test('slow start: the share of a backend that just came up grows over slowStart (weighted-round-robin)', async (t) => {
  // The daemon's clock is ours: each window of requests is sent at a chosen
  // time after the backend came up, so the ramp is measured exactly however
  // busy the machine is (a real-time window could get no request at all).
  let clock = Date.now();
  const [b1, b2] = await startBackends(t, 2);
  const s2 = new HealthScript(b2!);
  let b2Healthy = false;
  s2.health = () => (b2Healthy ? 200 : 503);
  const yaml = yamlConfig([b1!.url, b2!.url], `strategy: weighted-round-robin\nslowStart: 1500ms\n${checks}`);
  const { daemon, url } = await startTestDaemon(t, yaml, { watch: false, now: () => clock });
  const b = daemon.current.pool.backends[1]!;
  await waitFor(() => daemon.current.pool.backends[0]!.stateName === 'up', { timeoutMs: WAIT_MS, what: 'b1 up' });
  assert.equal(b.stateName, 'down');

  b2Healthy = true;
  await waitFor(() => b.stateName === 'up', { timeoutMs: WAIT_MS, intervalMs: 5, what: 'b2 up' });
  const upSince = b.state.upSince;
  assert.ok(upSince > 0, 'coming up through rise starts the ramp');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const windowMs = 300;
  const perWindow = 40;
  const shares: number[] = [];
  for (let w = 0; w < 7; w++) {
    clock = upSince + w * windowMs + windowMs / 2;
    let toB2 = 0;
    for (let i = 0; i < perWindow; i++) if ((await request(url, { agent })).body === 'b2\n') toB2++;
    shares.push(toB2 / perWindow);
  }
  const shown = shares.map((x) => x.toFixed(2)).join(' ');
  assert.ok(shares[0]! < 0.2, `first ${windowMs} ms: share ${shown}`);
  assert.ok(shares[0]! < shares[2]! && shares[2]! < shares[4]!, `share grows: ${shown}`);
  assert.ok(shares[5]! >= 0.45 && shares[6]! >= 0.45, `full share after slowStart: ${shown}`);
  t.diagnostic(`slow start 1500ms: b2's share per ${windowMs} ms window after it came up: ${shown}`);
});
