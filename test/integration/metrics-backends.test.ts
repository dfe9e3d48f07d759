/**
 * The metrics an operator alerts on (issue 13, item 5), read from a real
 * daemon's /metrics after a known traffic pattern: per-backend durations and
 * status classes, attempts by outcome (a backend that resets connections
 * shows its resets, not only the final answers), retries by backend,
 * answers yalb wrote told apart from relayed ones, the state gauge per
 * state, probes, ejections, connections, in-flight requests and body bytes;
 * a removed backend's series leave at the reload; `promtool check metrics`
 * passes when promtool is installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { rawExchange, statusLine } from '../helpers/raw.js';
import { refusingPort } from '../helpers/refusing-port.js';
import { scrape } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'admin:\n  listen: 127.0.0.1:0\n';

test('per-backend metrics after a known pattern: one backend resets every connection', async (t) => {
  const [ok, resetting] = await startBackends(t, 2);
  resetting!.behaviour = { kind: 'hangup' };
  // TCP probes: the resetting backend accepts connections, so only live traffic sees it fail.
  const { url, daemon } = await startTestDaemon(t, yamlConfig([ok!.url, resetting!.url], `${ADMIN}passive:\n  consecutiveFailures: 0\n`));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const N = 8;
  for (let i = 0; i < N; i++) assert.equal((await request(url)).status, 200, 'a GET that met a reset is replayed on the other backend');
  const m = await scrape(admin);
  const a = ok!.url;
  const r = resetting!.url;
  assert.ok(resetting!.hits >= 1, 'the resetting backend was tried');
  assert.equal(m.get('yalb_backend_attempts_total', { backend: a, outcome: 'ok' }), N);
  assert.equal(m.get('yalb_backend_attempts_total', { backend: r, outcome: 'reset' }), resetting!.hits, 'every reset attempt is counted, not only final answers');
  const retries = ['granted', 'failover'].reduce((n, result) => n + (m.get('yalb_retries_total', { backend: r, reason: 'reset', result }) ?? 0), 0);
  assert.equal(retries, resetting!.hits, 'each reset led to one retry away from that backend');
  assert.equal(m.get('yalb_requests_total', { backend: a, code: '200', source: 'backend' }), N);
  assert.equal(m.get('yalb_backend_requests_total', { backend: a, code_class: '2xx' }), N);
  assert.equal(m.get('yalb_backend_request_duration_seconds_count', { backend: a, code_class: '2xx' }), N);
  assert.equal(m.get('yalb_backend_request_duration_seconds_bucket', { backend: a, code_class: '2xx', le: '+Inf' }), N);
  assert.equal(m.get('yalb_backend_requests_total', { backend: r, code_class: '2xx' }), undefined, 'the resetting backend answered nothing');
  // Both are up (TCP probes pass): one series per state, 1 for the current one.
  for (const b of [a, r]) {
    for (const state of ['up', 'down', 'ejected', 'draining', 'slow_start']) {
      assert.equal(m.get('yalb_backend_state', { backend: b, state }), state === 'up' ? 1 : 0, `${b} ${state}`);
    }
    assert.ok((m.get('yalb_backend_probes_total', { backend: b, result: 'success' }) ?? 0) >= 1, 'the first probe round is counted');
    assert.equal(m.get('yalb_backend_ejections_total', { backend: b }), 0);
  }
  assert.equal(m.get('yalb_response_body_bytes_total'), N * Buffer.byteLength('b1\n'));
  assert.equal(m.get('yalb_client_connections_total'), N, 'one connection per request (no keep-alive)');
  assert.equal(m.get('yalb_requests_in_flight'), 0);
});

test('answers yalb wrote are told apart from relayed ones; connections, in flight and bytes', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  b2!.behaviour = { kind: 'status', status: 503 };
  const dead = `http://127.0.0.1:${await refusingPort()}`;
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], `${ADMIN}passive:\n  consecutiveFailures: 0\nretry:\n  maxAttempts: 1\n`), { watch: false }); // reloads driven here only
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const port = daemon.address.port;

  // A relayed 503 (b2's own) and a 200 from b1.
  const replies = [await request(url), await request(url)].map((x) => x.status).sort();
  assert.deepEqual(replies, [200, 503]);
  // A 400 from yalb (absolute-form target) and a 431 from the listener (headers too large).
  assert.equal(statusLine((await rawExchange(port, ['GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n'])).data), 'HTTP/1.1 400 Bad Request');
  assert.equal(statusLine((await rawExchange(port, [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`])).data), 'HTTP/1.1 431 Request Header Fields Too Large');
  // A POST body counted in, the answer's body counted out.
  const body = Buffer.alloc(1234, 7);
  b2!.behaviour = { kind: 'ok' };
  b1!.behaviour = { kind: 'ok' };
  assert.equal((await request(url, { method: 'POST', body, headers: { 'content-length': body.length } })).status, 200);

  let m = await scrape(admin);
  assert.equal(m.get('yalb_requests_total', { backend: b2!.url, code: '503', source: 'backend' }), 1, 'the backend\'s 503 is relayed');
  assert.equal(m.get('yalb_backend_requests_total', { backend: b2!.url, code_class: '5xx' }), 1);
  assert.equal(m.get('yalb_backend_attempts_total', { backend: b2!.url, outcome: '5xx' }), 1);
  assert.equal(m.get('yalb_requests_total', { backend: 'none', code: '400', source: 'yalb' }), 1);
  assert.equal(m.get('yalb_generated_responses_total', { code: '400', reason: 'bad-request' }), 1);
  assert.equal(m.get('yalb_generated_responses_total', { code: '431', reason: 'header-overflow' }), 1);
  assert.equal(m.get('yalb_generated_responses_total', { code: '503', reason: 'no-backend' }), undefined, 'no 503 of yalb\'s own');
  assert.equal(m.get('yalb_request_body_bytes_total'), body.length);

  // A dead backend alone: yalb's own 502, with its reason, from the request through to the backend's attempt.
  writeFileSync(daemon.configPath, `engine: ${daemon.current.engine.name}\n${yamlConfig([dead], `${ADMIN}passive:\n  consecutiveFailures: 0\nhealthCheck:\n  interval: 1h\n`)}`);
  assert.equal((await daemon.reload('test')).ok, true);
  const failed = await request(url);
  assert.ok([502, 503].includes(failed.status), `status ${failed.status}`);
  m = await scrape(admin);
  const code = String(failed.status);
  assert.equal(m.get('yalb_requests_total', { backend: failed.status === 502 ? dead : 'none', code, source: 'yalb' }), 1);
  assert.equal(m.get('yalb_generated_responses_total', { code, reason: failed.status === 502 ? 'connect' : 'no-backend' }), 1);
  assert.equal(m.get('yalb_backend_state', { backend: dead, state: 'down' }), 1, 'refused at its first probe: down');

  // Open connections and a request in flight, seen while they are.
  writeFileSync(daemon.configPath, `engine: ${daemon.current.engine.name}\n${yamlConfig([b1!.url], ADMIN)}`);
  assert.equal((await daemon.reload('test')).ok, true);
  b1!.behaviour = { kind: 'stall' };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const idle = net.connect(port, '127.0.0.1');
  t.after(() => idle.destroy());
  const pending = request(url, { agent, timeoutMs: 10_000 }).catch(() => undefined);
  m = await waitFor(async () => {
    const s = await scrape(admin);
    return s.get('yalb_requests_in_flight') === 1 && (s.get('yalb_client_connections') ?? 0) >= 2 ? s : undefined;
  }, { what: 'one request in flight on two open connections' });
  assert.equal(m.get('yalb_backend_in_flight', { backend: b1!.url, pool: 'default' }), 1);
  await b1!.stop();
  await pending;
  idle.destroy();
  agent.destroy();
  // The scrapes go to the admin listener: they are not client connections.
  await waitFor(async () => (await scrape(admin)).get('yalb_client_connections') === 0, { what: 'every client connection closed' });
});

test('passive ejection and a drained backend show in yalb_backend_state and yalb_backend_ejections_total', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  b2!.behaviour = { kind: 'status', status: 500 };
  const yaml = `listen: 127.0.0.1:0\n${ADMIN}backends:\n  - url: ${b1!.url}\n  - url: ${b2!.url}\n  - url: ${b3!.url}\n    drain: true\npassive:\n  consecutiveFailures: 2\n  ejectFor: 1h\n`;
  const { url, daemon } = await startTestDaemon(t, yaml);
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  await waitFor(async () => {
    await request(url);
    return daemon.current.pool.backend(b2!.url)!.stateName === 'ejected';
  }, { what: 'b2 ejected' });
  const m = await scrape(admin);
  assert.equal(m.get('yalb_backend_ejections_total', { backend: b2!.url }), 1);
  assert.equal(m.get('yalb_backend_ejections_total', { backend: b1!.url }), 0);
  const current = (b: string) => ['up', 'down', 'ejected', 'draining', 'slow_start'].filter((s) => m.get('yalb_backend_state', { backend: b, state: s }) === 1);
  assert.deepEqual(current(b1!.url), ['up']);
  assert.deepEqual(current(b2!.url), ['ejected']);
  assert.deepEqual(current(b3!.url), ['draining']);
  assert.equal(m.get('yalb_backend_up', { backend: b2!.url, pool: 'default' }), 0, 'the 0/1 gauge stays, for existing alerts');
});

test('a removed backend\'s series are gone from /metrics after the reload', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], ADMIN), { watch: false });
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  for (let i = 0; i < 4; i++) await request(url);
  const before = await scrape(admin);
  assert.ok(before.text.includes(`backend="${b2!.url}"`), 'b2 has series before');
  for (const name of ['yalb_requests_total', 'yalb_backend_requests_total', 'yalb_backend_attempts_total', 'yalb_backend_request_duration_seconds_count']) {
    assert.ok(before.text.split('\n').some((l) => l.startsWith(name) && l.includes(b2!.url)), `${name} has b2`);
  }
  writeFileSync(daemon.configPath, `engine: ${daemon.current.engine.name}\n${yamlConfig([b1!.url], ADMIN)}`);
  assert.equal((await daemon.reload('test')).ok, true);
  const after = await scrape(admin);
  const left = after.text.split('\n').filter((l) => l.includes(b2!.url));
  assert.deepEqual(left, [], 'no series names the removed backend');
  assert.equal(after.get('yalb_backend_attempts_total', { backend: b1!.url, outcome: 'ok' }), 2, 'the kept backend keeps its counts');
});

/** promtool finds promtool on PATH (Debian's `prometheus` package ships it; .ci/run installs it). */
function promtool(): string | undefined {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'promtool' : undefined;
}

test('promtool check metrics passes on a scrape with traffic, failures and process metrics', async (t) => {
  const tool = promtool();
  if (!tool) {
    t.skip('promtool is not installed (apt-get install prometheus; .ci/run installs it)');
    return;
  }
  const [b1, b2] = await startBackends(t, 2);
  b2!.behaviour = { kind: 'hangup' };
  const { url, daemon } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], ADMIN), { processMetrics: true });
  for (let i = 0; i < 6; i++) await request(url);
  await rawExchange(daemon.address.port, ['GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n']);
  const text = (await scrape(`http://127.0.0.1:${daemon.adminAddress!.port}`)).text;
  const r = spawnSync(tool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no warning either');
});

test('a backend that comes back up under slowStart shows as slow_start, then up', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  await b2!.stop(); // down at the first probe; its port is kept for the restart
  const yaml = yamlConfig([b1!.url, b2!.url], `${ADMIN}slowStart: 2s\nhealthCheck:\n  interval: 100ms\n  timeout: 80ms\n  rise: 1\n`);
  const { daemon } = await startTestDaemon(t, yaml);
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const stateOf = async (b: string) => {
    const m = await scrape(admin);
    return ['up', 'down', 'ejected', 'draining', 'slow_start'].filter((s) => m.get('yalb_backend_state', { backend: b, state: s }) === 1).join(',');
  };
  assert.equal(await stateOf(b2!.url), 'down');
  await b2!.start();
  await waitFor(async () => (await stateOf(b2!.url)) === 'slow_start', { what: 'b2 in slow start' });
  assert.equal(await stateOf(b1!.url), 'up', 'up since the start: no ramp');
  await waitFor(async () => (await stateOf(b2!.url)) === 'up', { what: 'b2 at full weight', timeoutMs: 10_000 });
});
