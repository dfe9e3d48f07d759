/**
 * With `workers: 2` the primary serves /metrics from its workers' counts
 * (issue 13, item 5): the new per-backend counters are summed over the
 * workers and never go back when a worker is replaced (its last counts are
 * kept as retired); gauges (open connections, in flight) are the live
 * workers' sum; probes and ejections are counted where they are decided,
 * in the primary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusDocument } from '../../src/admin/status.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { scrape } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

test('workers: 2 — per-backend counters are summed over the workers and survive a worker\'s replacement', async (t) => {
  const [ok, resetting] = await startBackends(t, 2);
  resetting!.behaviour = { kind: 'hangup' };
  const { url, daemon } = await startTestDaemon(t, yamlConfig([ok!.url, resetting!.url], 'workers: 2\nadmin:\n  listen: 127.0.0.1:0\npassive:\n  consecutiveFailures: 0\n'));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const status = async () => JSON.parse((await request(`${admin}/status`)).body) as StatusDocument;
  await waitFor(async () => (await status()).workers.length === 2, { what: 'two workers', timeoutMs: 30_000 });
  t.after(() => {
    // A worker left behind by a failed assertion dies with the test.
    void status().then((s) => s.workers.forEach((w) => { try { process.kill(w.pid, 'SIGKILL'); } catch { /* gone */ } })).catch(() => {});
  });

  const N = 10;
  // A new connection per request: the primary hands them to both workers in turn.
  for (let i = 0; i < N; i++) assert.equal((await request(url)).status, 200);
  const perWorker = (await status()).workers.map((w) => w.requests);
  assert.ok(perWorker.every((n) => n > 0), `both workers served: ${perWorker.join(', ')}`);
  let m = await scrape(admin);
  const okAttempts = () => m.get('yalb_backend_attempts_total', { backend: ok!.url, outcome: 'ok' });
  assert.equal(okAttempts(), N, 'summed over both workers');
  assert.equal(m.get('yalb_backend_attempts_total', { backend: resetting!.url, outcome: 'reset' }), resetting!.hits);
  assert.equal(m.get('yalb_backend_requests_total', { backend: ok!.url, code_class: '2xx' }), N);
  assert.equal(m.get('yalb_requests_total', { backend: ok!.url, code: '200', source: 'backend' }), N);
  assert.equal(m.get('yalb_client_connections_total'), N);
  assert.equal(m.get('yalb_response_body_bytes_total'), N * 3);
  assert.ok((m.get('yalb_backend_probes_total', { backend: ok!.url, result: 'success' }) ?? 0) >= 1, 'probes are counted in the primary');
  assert.equal(m.get('yalb_client_connections'), 0);
  assert.equal(m.get('yalb_requests_in_flight'), 0);

  // Kill one worker: its counts stay in the sum, and the replacement's add to them.
  const victim = (await status()).workers[0]!;
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(async () => {
    const ws = (await status()).workers;
    return ws.length === 2 && ws.every((w) => w.pid !== victim.pid);
  }, { what: 'the killed worker replaced', timeoutMs: 30_000 });
  m = await scrape(admin);
  assert.equal(okAttempts(), N, 'no counter went back when the worker was replaced');
  for (let i = 0; i < N; i++) assert.equal((await request(url)).status, 200);
  m = await scrape(admin);
  assert.equal(okAttempts(), 2 * N);
  assert.equal(m.get('yalb_backend_requests_total', { backend: ok!.url, code_class: '2xx' }), 2 * N);
  assert.equal(m.get('yalb_client_connections_total'), 2 * N);
});
