/**
 * `yalb reload`, `stop` and `status` reach a daemon started without a pid
 * file (in the foreground, as systemd runs it) through the admin API named
 * in the config or given with --admin; POST /api/reload answers with the
 * result of that very reload. Issue 13 (systemd: reload that reports).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isAlive } from '../../src/cli/pid-file.js';
import { startBackends } from '../helpers/backend.js';
import { exited, runCli, spawnCli } from '../helpers/cli.js';
import { request, startTestDaemon, tempDir, withTestEngine, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'an-admin-token-of-32-characters!';

function config(port: number, adminPort: number, backends: string[], extra = ''): string {
  return `listen: 127.0.0.1:${port}\nadmin:\n  listen: 127.0.0.1:${adminPort}\n${extra}backends:\n${backends.map((u) => `  - url: ${u}\n`).join('')}`;
}

test('POST /api/reload answers with that reload\'s result: 200 applied with the changes, 422 with file:line:col, 405 for GET', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, yamlConfig([b1!.url], 'admin:\n  listen: 127.0.0.1:0\n'), { watch: false });
  const api = `http://127.0.0.1:${daemon.adminAddress!.port}/api/reload`;

  const same = await request(api, { method: 'POST' });
  assert.equal(same.status, 200, same.body);
  assert.deepEqual({ ...JSON.parse(same.body), hash: undefined }, { ok: true, applied: false, hash: undefined, changes: [] });

  writeFileSync(file, withTestEngine(yamlConfig([b1!.url, b2!.url], 'admin:\n  listen: 127.0.0.1:0\n')));
  const applied = await request(api, { method: 'POST' });
  assert.equal(applied.status, 200, applied.body);
  const doc = JSON.parse(applied.body) as { ok: boolean; applied: boolean; changes: string[] };
  assert.equal(doc.ok, true);
  assert.equal(doc.applied, true);
  assert.ok(doc.changes.some((c) => c.includes(b2!.url)), applied.body);
  assert.equal(daemon.status().lastReload?.trigger, 'yalb reload');

  writeFileSync(file, withTestEngine(yamlConfig([b1!.url], 'admin:\n  listen: 127.0.0.1:0\nstrategy: bogus\n')));
  const rejected = await request(api, { method: 'POST' });
  assert.equal(rejected.status, 422, rejected.body);
  const bad = JSON.parse(rejected.body) as { ok: boolean; code: string; errors: string[] };
  assert.equal(bad.ok, false);
  assert.equal(bad.code, 'YALB_ERR_RELOAD_FAILED');
  assert.match(bad.errors[0]!, new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:11: strategy`));
  assert.equal((await request(`${url}/`)).status, 200, 'the running config keeps serving');

  const get = await request(api);
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
});

test('POST /api/reload: refused from a web page (Origin, or a non-loopback Host), 401 without the token when remote', async (t) => {
  const [b1] = await startBackends(t, 1);
  const { daemon: local } = await startTestDaemon(t, yamlConfig([b1!.url], 'admin:\n  listen: 127.0.0.1:0\n'), { watch: false });
  const api = `http://127.0.0.1:${local.adminAddress!.port}/api/reload`;
  assert.equal((await request(api, { method: 'POST', headers: { origin: 'http://evil.example' } })).status, 403);
  assert.equal((await request(api, { method: 'POST', headers: { host: 'rebound.example:9090' } })).status, 403);
  assert.equal((await request(api, { method: 'POST', headers: { host: 'localhost:9090' } })).status, 200);
  assert.equal(local.status().lastReload?.trigger ?? 'none', 'none', 'a refused request reloaded nothing');

  const { daemon: remote } = await startTestDaemon(t, yamlConfig([b1!.url], `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${TOKEN}\n`), { watch: false });
  const rapi = `http://127.0.0.1:${remote.adminAddress!.port}/api/reload`;
  const noToken = await request(rapi, { method: 'POST' });
  assert.equal(noToken.status, 401);
  const withToken = await request(rapi, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, host: 'lb.example.com:9090' } });
  assert.equal(withToken.status, 200, withToken.body);
});

test('foreground daemon without a pid file: yalb reload reports applied (0) and rejected (1) through the admin API; status and stop find it', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const env = { XDG_RUNTIME_DIR: dir }; // no default pid file to fall back on by accident
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  const adminPort = await deadPort();
  writeFileSync(file, config(port, adminPort, [b1!.url]));
  const child = spawnCli(t, ['start', '-c', file]);
  await waitFor(() => /listening on/.test(child.output()), { what: 'listening', timeoutMs: 15_000 });

  const status = await runCli(['status', '-c', file], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`pid ${child.pid},`));

  writeFileSync(file, config(port, adminPort, [b1!.url, b2!.url]));
  const applied = await runCli(['reload', '-c', file], { env });
  assert.equal(applied.code, 0, applied.stderr);
  // The watcher may have applied the change first; then this reload finds it up to date.
  assert.match(applied.stdout, /^(applied: .*127\.0\.0\.1|up to date)/);
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).body === 'b2\n', { what: 'b2 serving' });

  // Invalid (and with the admin section intact, read leniently): exit 1 with file:line:col; still serving.
  writeFileSync(file, `${config(port, adminPort, [b1!.url])}retry:\n  maxAttempts: lots\n`);
  const rejected = await runCli(['reload', '-c', file], { env });
  assert.equal(rejected.code, 1, rejected.stdout);
  assert.match(rejected.stderr, /reload failed; the running config keeps serving \(YALB_ERR_RELOAD_FAILED\)/);
  assert.match(rejected.stderr, new RegExp(`${path.basename(file)}:\\d+:\\d+: retry\\.maxAttempts`));
  assert.equal((await request(`http://127.0.0.1:${port}/`)).status, 200);
  assert.match(child.output(), /reload failed \(yalb reload\)/);

  // --admin ADDR works without a config file.
  const byAddr = await runCli(['status', '--admin', `127.0.0.1:${adminPort}`, '-c', path.join(dir, 'none.yaml'), '--json'], { env });
  assert.equal(byAddr.code, 0, byAddr.stderr);
  assert.equal((JSON.parse(byAddr.stdout) as { pid: number }).pid, child.pid);

  const stop = await runCli(['stop', '-c', file], { env });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^stopped \\(pid ${child.pid}, `));
  assert.deepEqual(await exited(child), { code: 0, signal: null });

  // Nothing answers now, and there is no pid file: exit 1, saying both.
  for (const cmd of ['reload', 'stop']) {
    const none = await runCli([cmd, '-c', file], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no running daemon \(no daemon answers at http:\/\/127\.0\.0\.1:\d+ .*ECONNREFUSED.*; pid file .*\) \(YALB_ERR_NOT_RUNNING\)/);
  }
});

test('yalb reload via the admin API sends the token from ${ENV} (or YALB_ADMIN_TOKEN); a wrong one is a clear 401', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  const adminPort = await deadPort();
  writeFileSync(file, config(port, adminPort, [b1!.url], '  allowRemote: true\n  token: "${YALB_TEST_TOKEN}"\n'));
  const child = spawn(process.execPath, [path.resolve(import.meta.dirname, '../../dist/cli.js'), 'start', '-c', file], { env: { ...process.env, YALB_TEST_TOKEN: TOKEN }, stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor(async () => (await request(`http://127.0.0.1:${adminPort}/healthz`).catch(() => ({ status: 0 }))).status === 200, { what: 'admin up', timeoutMs: 15_000 });
  const env = { XDG_RUNTIME_DIR: dir, YALB_TEST_TOKEN: TOKEN };
  const ok = await runCli(['reload', '-c', file], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const wrong = await runCli(['reload', '-c', file], { env: { ...env, YALB_ADMIN_TOKEN: 'not-the-token-at-all-0123456789' } });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /answered 401: the token was refused .*\(YALB_ERR_ADMIN\)/);
  const stop = await runCli(['stop', '--admin', String(adminPort)], { env: { ...env, YALB_ADMIN_TOKEN: TOKEN } });
  assert.equal(stop.code, 0, stop.stderr);
  await waitFor(() => !isAlive(child.pid!), { what: 'daemon exited' });
});

test('yalb stop refuses a pid the admin API reports that is not the process holding the admin port here', async (t) => {
  // A stand-in admin API (as a container publishing its port would be)
  // reporting the pid of an unrelated live process: nothing is signalled.
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const http = await import('node:http');
  const fake = http.createServer((_req, res) => res.end(JSON.stringify({ pid: sleeper.pid })));
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => fake.close(() => r())));
  const port = (fake.address() as { port: number }).port;
  // The fake answers from this test process, so the CLI runs asynchronously.
  const r = await runCli(['stop', '--admin', `127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`reports pid ${sleeper.pid}, but process ${sleeper.pid} here does not hold port ${port} .*nothing was sent \\(YALB_ERR_UNIDENTIFIED\\)`));
  assert.ok(isAlive(sleeper.pid!));
});

test('workers: 2 without a pid file: yalb reload is applied once by the primary for all workers; yalb stop stops the primary and its workers', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const env = { XDG_RUNTIME_DIR: dir };
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  const adminPort = await deadPort();
  writeFileSync(file, config(port, adminPort, [b1!.url], '').replace('backends:', 'workers: 2\nbackends:'));
  const child = spawnCli(t, ['start', '-c', file]);
  await waitFor(() => /listening on .*2 workers/.test(child.output()), { what: 'listening with 2 workers', timeoutMs: 30_000 });
  writeFileSync(file, `${config(port, adminPort, [b2!.url], '').replace('backends:', 'workers: 2\nbackends:')}`);
  const applied = await runCli(['reload', '-c', file], { env });
  assert.equal(applied.code, 0, applied.stderr);
  // Every worker serves the new generation: fresh connections land on different workers, all on b2.
  await waitFor(async () => {
    const bodies = await Promise.all(Array.from({ length: 6 }, () => request(`http://127.0.0.1:${port}/`).then((r) => r.body)));
    return bodies.every((b) => b === 'b2\n');
  }, { what: 'b2 from every worker', timeoutMs: 10_000 });
  const stop = await runCli(['stop', '-c', file], { env, timeoutMs: 40_000 });
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^stopped \\(pid ${child.pid}, `));
  assert.deepEqual(await exited(child), { code: 0, signal: null });
});
