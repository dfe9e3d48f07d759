/**
 * Active checks end to end, with scripted backends and a real daemon on
 * 127.0.0.1: rise/fall hysteresis, one log line per state change with its
 * reason, /status per backend, and panic mode. Issue 4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { startPinnedBackend } from '../helpers/refusing-port.js';
import { countLines, HealthScript, tally, burst } from '../helpers/scripted.js';
import { waitFor } from '../helpers/wait.js';

// 1 s probe timeout: a probe slowed by a busy machine still passes, so only the scripted answers
// fail (with 200 ms, one slow moment counted as a failed probe). The interval may not be shorter.
const health = (extra = '') => `healthCheck:
  interval: 1s
  timeout: 1s
  path: /health
  fall: 3
  rise: 2
${extra}`;

/** WAIT_MS bounds a wait for a few probe rounds (fall 3 or rise 2 at 1 s, with room for a busy machine). */
const WAIT_MS = 10_000;

interface StatusBackend { url: string; state: string; reason: string; since: string }

test('a single failed probe does not take a backend down (fall 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const s1 = new HealthScript(b1!);
  const { daemon, url, logs } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], health()), { watch: false });
  const b = daemon.current.pool.backends[0]!;
  await waitFor(() => b.stateName === 'up' && s1.probes >= 2, { timeoutMs: WAIT_MS, what: 'b1 up and probed twice' });
  // The next probe answers 503, the ones after it 200 again. The probes of one backend run one
  // after another and each result is recorded before the next probe is sent, so what b1 sees
  // when probe n arrives is the daemon's view after probe n - 1: no sampling, nothing to miss.
  const failAt = s1.probes + 1;
  const viewAfter: Record<number, { fails: number; state: string }> = {};
  s1.health = (n) => {
    viewAfter[n - 1] = { fails: b.state.fails, state: b.stateName };
    return n === failAt ? 503 : 200;
  };
  const linesBefore = logs.lines.length;
  await waitFor(() => s1.probes >= failAt + 3 && b.state.passes >= 2, { timeoutMs: WAIT_MS, what: 'three more probes of b1' });
  const shown = JSON.stringify(viewAfter);
  assert.equal(viewAfter[failAt]?.fails, 1, `the failed probe was counted: ${shown}`);
  for (const n of [failAt, failAt + 1, failAt + 2]) assert.equal(viewAfter[n]?.state, 'up', `after probe ${n}: ${shown}`);
  assert.equal(b.stateName, 'up');
  const after = logs.lines.slice(linesBefore);
  assert.equal(countLines(after, `backend ${b1!.url}`), 0, after.join('\n'));
  assert.deepEqual(tally(await burst(url, 4, 1)), { b1: 2, b2: 2 });
});

test('3 failed probes take a backend down and 2 passes bring it back, each logged once with its reason and shown by /status', async (t) => {
  // b1 is stopped and restarted on its port: pin it below the ephemeral range so no parallel test takes the port meanwhile.
  const b1 = await startPinnedBackend('b1');
  t.after(() => b1.stop());
  const b2 = await new TestBackend('b2').start();
  t.after(() => b2.stop());
  const extra = health('admin:\n  listen: 127.0.0.1:0\n');
  const { daemon, url, logs } = await startTestDaemon(t, yamlConfig([b1.url, b2.url], extra), { watch: false });
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}/status`;
  const b = daemon.current.pool.backends[0]!;
  await waitFor(() => daemon.current.pool.availableCount() === 2, { timeoutMs: WAIT_MS, what: 'both up' });

  const stoppedAt = Date.now();
  await b1.stop();
  await waitFor(() => b.stateName === 'down', { timeoutMs: WAIT_MS, what: 'b1 down' });
  const downMs = Date.now() - stoppedAt;
  const downLine = `backend ${b1.url} down: 3 failed probes: ECONNREFUSED`;
  await waitFor(() => logs.has(downLine), { timeoutMs: WAIT_MS, what: downLine });

  const status = JSON.parse((await request(admin)).body) as { backends: StatusBackend[] };
  const st = status.backends.find((x) => x.url === b1.url);
  assert.equal(st?.state, 'down');
  assert.equal(st?.reason, '3 failed probes: ECONNREFUSED');
  const since = Date.parse(st?.since ?? '');
  assert.ok(since >= stoppedAt && since <= Date.now(), `since ${st?.since}`);
  assert.deepEqual(tally(await burst(url, 4, 1)), { b2: 4 });

  const restartedAt = Date.now();
  await b1.start();
  await waitFor(() => b.stateName === 'up', { timeoutMs: WAIT_MS, what: 'b1 up again' });
  const upMs = Date.now() - restartedAt;
  const upLine = `backend ${b1.url} up: 2 passing probes`;
  await waitFor(() => logs.has(upLine), { timeoutMs: WAIT_MS, what: upLine });
  // Probes keep failing while it is down and passing once it is up: still one line each.
  await waitFor(() => b.state.passes >= 5, { timeoutMs: WAIT_MS, what: 'more passing probes' });
  assert.equal(countLines(logs.lines, `backend ${b1.url} down`), 1);
  assert.equal(countLines(logs.lines, `backend ${b1.url} up`), 1);
  t.diagnostic(`fall 3 × 1s: down ${downMs} ms after the backend stopped; rise 2: up ${upMs} ms after it restarted`);
});

test('panic mode: below panicBelow every backend takes traffic, and start and end are logged loudly', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const s1 = new HealthScript(b1!);
  const s2 = new HealthScript(b2!);
  let b1Healthy = false;
  s1.health = () => (b1Healthy ? 200 : 503);
  s2.health = () => 503;
  const { daemon, url, logs } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url, b3!.url], health('  panicBelow: 50%\n')), { watch: false });
  const states = () => daemon.current.pool.backends.map((b) => b.stateName).join(' ');
  await waitFor(() => states() === 'down down up', { timeoutMs: WAIT_MS, what: 'b1, b2 down and b3 up' });
  assert.ok(logs.has('PANIC MODE ON: '), logs.lines.join('\n'));
  assert.ok(logs.has('below panicBelow 50%); routing to all 3 non-draining backends'), logs.lines.join('\n'));
  assert.deepEqual(tally(await burst(url, 6, 1)), { b1: 2, b2: 2, b3: 2 });

  b1Healthy = true;
  await waitFor(() => logs.has('panic mode off: 2 of 3 backends healthy'), { timeoutMs: WAIT_MS, what: 'panic off line' });
  assert.deepEqual(tally(await burst(url, 6, 1)), { b1: 3, b3: 3 });
  assert.equal(countLines(logs.lines, 'PANIC MODE ON'), 1);
  assert.equal(countLines(logs.lines, 'panic mode off'), 1);
});
