/**
 * Passive health (outlier ejection on live traffic) end to end: a backend
 * answering 500 is ejected, its traffic moves, it comes back after ejectFor;
 * repeated ejections last longer; never more than maxEjectedPercent of the
 * pool is ejected. Real HTTP through a daemon on 127.0.0.1. Issue 4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../../src/pool/backend.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { burst, countLines, tally } from '../helpers/scripted.js';
import { waitFor } from '../helpers/wait.js';

// Probes play no part here (TCP probes pass): a long interval keeps them out of the way.
const passive = (ejectFor: string, extra = '') => `healthCheck:
  interval: 1m
passive:
  consecutiveFailures: 5
  ejectFor: ${ejectFor}
  maxEjectedPercent: 50
${extra}`;

/** sendUntil sends sequential GETs until `done()` holds (at most `max`), and counts statuses. */
async function sendUntil(url: string, done: () => boolean, max: number): Promise<{ sent: number; status500: number }> {
  let sent = 0;
  let status500 = 0;
  while (!done() && sent < max) {
    const r = await request(url);
    sent++;
    if (r.status === 500) status500++;
  }
  assert.ok(done(), `condition not reached after ${max} requests`);
  return { sent, status500 };
}

// The daemon's clock is the test's and stands still unless the test moves it (as in the slow-start
// test): an ejection ends exactly when the test says, however long a busy machine takes over the
// requests sent meanwhile (in real time, ten requests did not always fit in a 1 s ejection).

test('a backend answering 500 to every request is ejected, its traffic moves, and it comes back after ejectFor', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  b1!.behaviour = { kind: 'status', status: 500 };
  const yaml = yamlConfig([b1!.url, b2!.url, b3!.url], passive('1s', 'admin:\n  listen: 127.0.0.1:0\n'));
  let clock = Date.now();
  const { daemon, url, logs } = await startTestDaemon(t, yaml, { watch: false, now: () => clock });
  const b = daemon.current.pool.backends[0]!;

  const started = (clock += 60_000); // later than the backend's start, so /status's since shows the ejection
  const { sent, status500 } = await sendUntil(url, () => b.stateName === 'ejected', 60);
  const ejectedAt = clock;
  assert.equal(status500, 5, 'the client saw exactly consecutiveFailures 500s');
  const line = `backend ${b1!.url} ejected: ejected 1s: 5 consecutive failures: status 500`;
  assert.equal(countLines(logs.lines, line), 1, logs.lines.join('\n'));
  const status = JSON.parse((await request(`http://127.0.0.1:${daemon.adminAddress!.port}/status`)).body) as {
    backends: Array<{ url: string; state: string; reason: string; since: string; ejections: number }>;
  };
  const st = status.backends[0]!;
  assert.deepEqual([st.state, st.reason, st.ejections], ['ejected', 'ejected 1s: 5 consecutive failures: status 500', 1]);
  assert.equal(Date.parse(st.since), started);

  const hitsBefore = b1!.hits;
  const moved = tally(await burst(url, 10, 1));
  assert.ok(b.stateName === 'ejected', 'still inside the ejection (else the check says nothing)');
  assert.deepEqual(moved, { b2: 5, b3: 5 });
  assert.equal(b1!.hits, hitsBefore, 'no request reached the ejected backend');

  b1!.behaviour = { kind: 'ok' };
  clock = ejectedAt + 999;
  // Round robin over three: b1 would get one of three requests if it were back.
  const lastMs = tally(await burst(url, 3, 1));
  assert.deepEqual(Object.keys(lastMs).sort(), ['b2', 'b3'], `1 ms before ejectFor is over: ${JSON.stringify(lastMs)}`);
  assert.equal(b1!.hits, hitsBefore, 'no request reached b1 1 ms before ejectFor is over');
  clock = ejectedAt + 1000;
  await waitFor(async () => (await request(url)).body.trim() === 'b1', { timeoutMs: 10_000, intervalMs: 20, what: 'b1 takes traffic again' });
  assert.equal(countLines(logs.lines, `backend ${b1!.url} probation: ejection of 1s over; on probation`), 1);
  const after = tally(await burst(url, 6, 1));
  assert.deepEqual(after, { b1: 2, b2: 2, b3: 2 });
  t.diagnostic(`ejection: 5 consecutive 500s (${sent} requests round robin over 3) ejected b1; back when the clock reached ejectFor 1s later, not 1 ms before`);
});

test('ejection time grows on repeated ejection (probation: one failure ejects again, for longer)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  b1!.behaviour = { kind: 'status', status: 500 };
  let clock = Date.now();
  const { daemon, url, logs } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], passive('300ms')), { watch: false, now: () => clock });
  const b = daemon.current.pool.backends[0]!;
  const remaining = (x: Backend) => x.state.ejectedUntil - clock;

  const lengths: number[] = [];
  const expected = [
    'ejected 300ms: 5 consecutive failures: status 500',
    'ejected 600ms: failed on probation: status 500',
    'ejected 900ms: failed on probation: status 500',
  ];
  for (let round = 0; round < 3; round++) {
    const { status500 } = await sendUntil(url, () => b.stateName === 'ejected', 30);
    assert.equal(status500, round === 0 ? 5 : 1, `round ${round + 1}: 500s before the ejection`);
    const left = remaining(b);
    const full = 300 * (round + 1);
    assert.equal(left, full, `round ${round + 1}: ${left} ms left of ${full}`);
    lengths.push(b.state.ejectedForMs);
    const shown = (daemon.status() as { backends: Array<{ reason: string; state: string }> }).backends[0]!;
    assert.deepEqual([shown.state, shown.reason], ['ejected', expected[round]]);
    if (round === 2) break;
    clock += full - 1;
    assert.equal(b.stateName, 'ejected', `round ${round + 1}: 1 ms before the end of the ejection`);
    clock += 1;
    assert.equal(b.stateName, 'up', `round ${round + 1}: at the end of the ejection`);
  }
  assert.deepEqual(lengths, [300, 600, 900]);
  for (const e of expected) assert.equal(countLines(logs.lines, `backend ${b1!.url} ejected: ${e}`), 1);
  t.diagnostic(`ejection lengths: ${lengths.join(' ms → ')} ms`);
});

test('never more than half the pool ejected, even when every backend fails', async (t) => {
  const bs = await startBackends(t, 4);
  for (const b of bs) b.behaviour = { kind: 'status', status: 500 };
  const { daemon, url, logs } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), passive('10s')), { watch: false });
  const pool = daemon.current.pool;
  const ejected = () => pool.backends.filter((b) => b.stateName === 'ejected').length;
  let maxSeen = 0;
  for (let i = 0; i < 40; i++) {
    const r = await request(url);
    assert.equal(r.status, 500);
    maxSeen = Math.max(maxSeen, ejected());
  }
  assert.equal(maxSeen, 2);
  assert.equal(ejected(), 2);
  assert.equal(countLines(logs.lines, ' ejected: ejected 10s'), 2);
  // The two that are left keep taking all the traffic.
  const left = pool.backends.filter((b) => b.stateName === 'up').map((b) => b.url);
  const seen = new Set<string>();
  for (const r of await burst(url, 6, 1)) if (!(r instanceof Error)) seen.add(`http://127.0.0.1:${bs.find((b) => b.name === r.headers['x-backend'])!.port}`);
  assert.deepEqual([...seen].sort(), left.sort());
});
