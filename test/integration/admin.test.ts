/**
 * The admin API (/status, /metrics, /healthz, token) and the access log,
 * against a real daemon with real traffic.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

/** parseProm parses Prometheus text: every non-comment line is `name{labels} value`. */
function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

test('/status, /metrics and /healthz', async (t) => {
  const bs = await startBackends(t, 2);
  const { url, daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), 'admin:\n  listen: 127.0.0.1:0\n'));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const status = JSON.parse((await request(`${admin}/status`)).body) as Record<string, any>;
  for (const k of ['version', 'pid', 'uptimeSeconds', 'configFile', 'configHash', 'lastReload', 'strategy', 'backends']) assert.ok(k in status, `status has ${k}`);
  assert.equal(status.backends.length, 2);
  for (const k of ['url', 'state', 'reason', 'since', 'weight', 'inFlight', 'requests', 'failures']) assert.ok(k in status.backends[0], `backend has ${k}`);

  const before = parseProm((await request(`${admin}/metrics`)).body);
  for (let i = 0; i < 6; i++) assert.equal((await request(url)).status, 200);
  const m = (await request(`${admin}/metrics`));
  assert.match(String(m.headers['content-type']), /text\/plain/);
  const after = parseProm(m.body);
  const key = `yalb_requests_total{backend="${bs[0]!.url}",code="200",source="backend"}`;
  assert.equal((after.get(key) ?? 0) - (before.get(key) ?? 0), 3);
  assert.equal(after.get(`yalb_backend_up{backend="${bs[0]!.url}",pool="default"}`), 1);
  assert.ok(after.has('yalb_request_duration_seconds_count{code="200"}'));
  assert.ok(after.has('yalb_config_reloads_total{result="success"}'));
  assert.ok(after.has('yalb_config_last_reload_success_timestamp_seconds'));

  assert.equal((await request(`${admin}/healthz`)).status, 200);
  assert.equal((await request(`${admin}/nope`)).status, 404);
  assert.equal((await request(`${admin}/status`, { method: 'POST' })).status, 405);
});

test('admin with allowRemote requires the bearer token', async (t) => {
  const bs = await startBackends(t, 1);
  const token = 'a-test-token-of-32-characters-xx';
  const { daemon } = await startTestDaemon(t, yamlConfig([bs[0]!.url], `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${token}\n`));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}/status`;
  assert.equal((await request(admin)).status, 401);
  assert.equal((await request(admin, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${token}` } })).status, 200);
});

test('access log to a file: JSON lines with the fields, reopened after a rename (SIGUSR1 path)', async (t) => {
  const bs = await startBackends(t, 1);
  const dir = tempDir(t);
  const logPath = path.join(dir, 'access.log');
  const { url, daemon } = await startTestDaemon(t, yamlConfig([bs[0]!.url], `accessLog:\n  path: ${logPath}\n  format: json\n`), { dir });
  for (let i = 0; i < 3; i++) await request(`${url}/path-${i}?q=1`, { headers: { 'user-agent': 'test-agent' } });
  const lines = await waitFor(() => {
    const l = readFileSync(logPath, 'utf8').trim().split('\n').filter(Boolean);
    return l.length >= 3 ? l : undefined;
  }, { what: '3 access lines' });
  const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
  for (const k of ['time', 'client', 'method', 'path', 'status', 'bytes', 'durationMs', 'backend', 'attempts']) assert.ok(k in rec, `line has ${k}`);
  assert.equal(rec.path, '/path-0?q=1');
  assert.equal(rec.status, 200);
  assert.equal(rec.backend, bs[0]!.url);
  assert.equal(rec.attempts, 1);

  // logrotate moves the file away, then SIGUSR1 → reopenLogs(): new lines go to a new file at the path.
  renameSync(logPath, `${logPath}.1`);
  daemon.reopenLogs();
  await request(`${url}/after-rotate`);
  await waitFor(() => existsSync(logPath) && readFileSync(logPath, 'utf8').includes('/after-rotate'), { what: 'line in the reopened file' });
  assert.ok(!readFileSync(`${logPath}.1`, 'utf8').includes('/after-rotate'));
});

test('access log in the combined format', async (t) => {
  const bs = await startBackends(t, 1);
  const dir = tempDir(t);
  const logPath = path.join(dir, 'access.log');
  const { url } = await startTestDaemon(t, yamlConfig([bs[0]!.url], `accessLog:\n  path: ${logPath}\n  format: combined\n`), { dir });
  await request(`${url}/x`, { headers: { 'user-agent': 'test-agent', referer: 'http://r/' } });
  const line = await waitFor(() => readFileSync(logPath, 'utf8').trim() || undefined, { what: 'a combined line' });
  assert.match(line, /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/x HTTP\/1\.1" 200 3 "http:\/\/r\/" "test-agent" backend=http:\/\/127\.0\.0\.1:\d+ attempts=1 duration_ms=[\d.]+ request_id=[0-9a-f]+-\w+$/);
});

test('/healthz answers 503 while the daemon drains', async (t) => {
  const [slow] = await startBackends(t, 1);
  slow!.behaviour = { kind: 'delay', ms: 1500 };
  const { url, daemon } = await startTestDaemon(t, yamlConfig([slow!.url], 'admin:\n  listen: 127.0.0.1:0\n'));
  const healthz = `http://127.0.0.1:${daemon.adminAddress!.port}/healthz`;
  assert.equal((await request(healthz)).status, 200);
  const inFlight = request(url);
  await waitFor(() => slow!.hits === 1, { what: 'request at the backend' });
  const stopped = daemon.stop();
  const during = await request(healthz);
  assert.equal(during.status, 503);
  assert.equal(during.body, 'draining\n');
  assert.equal((await inFlight).status, 200);
  await stopped;
});

test('admin token from the environment ("${ENV_NAME}") or from admin.tokenFile (Kubernetes Secrets); one that cannot be resolved refuses the reload', async (t) => {
  const bs = await startBackends(t, 1);
  const dir = tempDir(t);
  const envToken = 'token-from-the-environment-0123';
  process.env.YALB_TEST_ADMIN_TOKEN = envToken;
  t.after(() => { delete process.env.YALB_TEST_ADMIN_TOKEN; });
  const { daemon, file } = await startTestDaemon(t, yamlConfig([bs[0]!.url], 'admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${YALB_TEST_ADMIN_TOKEN}\n'), { dir, watch: false });
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}/status`;
  assert.equal((await request(admin, { headers: { authorization: 'Bearer ${YALB_TEST_ADMIN_TOKEN}' } })).status, 401, 'the reference itself is no token');
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${envToken}` } })).status, 200);

  // A token file (a mounted Secret): read at the reload.
  const tokenFile = path.join(dir, 'admin-token');
  const fileToken = 'token-from-a-mounted-secret-file';
  writeFileSync(tokenFile, `${fileToken}\n`);
  writeFileSync(file, yamlConfig([bs[0]!.url], `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  tokenFile: ${tokenFile}\n`));
  assert.equal((await daemon.reload('test')).ok, true);
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${envToken}` } })).status, 401);
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${fileToken}` } })).status, 200);

  // An unset variable refuses the reload at its key; the running token stays.
  writeFileSync(file, yamlConfig([bs[0]!.url], `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: \${YALB_TEST_UNSET_TOKEN}\n`));
  const r = await daemon.reload('test');
  assert.equal(r.ok, false);
  assert.match(JSON.stringify(r), /lb\.yaml:7:10: admin\.token: the environment variable YALB_TEST_UNSET_TOKEN is not set/);
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${fileToken}` } })).status, 200);
});
