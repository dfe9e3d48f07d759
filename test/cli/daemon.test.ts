/**
 * The daemon as users run it: `yalb start --daemon`, `reload`, `status`,
 * `stop`, and a foreground `start` stopped by SIGTERM while a request is in
 * flight. Spawns the built CLI; every process is killed in teardown.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { identityFile, isAlive, readPid } from '../../src/cli/pid-file.js';
import { startBackends } from '../helpers/backend.js';
import { exited, runCli, spawnCli } from '../helpers/cli.js';
import { request, tempDir } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

function config(port: number, adminPort: number, backends: string[], extra = ''): string {
  return `listen: 127.0.0.1:${port}\nadmin:\n  listen: 127.0.0.1:${adminPort}\nbackends:\n${backends.map((u) => `  - url: ${u}\n`).join('')}${extra}`;
}

test('start --daemon, status, reload, stop', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const pidFile = path.join(dir, 'yalb.pid');
  const logFile = path.join(dir, 'yalb.log');
  const port = await deadPort();
  const adminPort = await deadPort();
  writeFileSync(file, config(port, adminPort, [b1!.url]));
  // The pid is kept as soon as it is known: tempDir's teardown, registered
  // first, runs first and removes the pid file before this one runs.
  let daemonPid: number | undefined;
  t.after(() => {
    if (daemonPid && isAlive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  });

  // No daemon yet: each control command says so and exits 1.
  for (const cmd of ['reload', 'stop']) {
    const r = await runCli([cmd, '--pid-file', pidFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no running daemon/);
  }
  const noStatus = await runCli(['status', '-c', file]);
  assert.equal(noStatus.code, 1);
  assert.match(noStatus.stderr, /no daemon answers/);

  // start --daemon returns promptly; runCli waits for our pipes to close, so a daemon holding them would time out here.
  const started = await runCli(['start', '--daemon', '-c', file, '--pid-file', pidFile, '--log-file', logFile], { timeoutMs: 15_000 });
  assert.equal(started.code, 0, started.stderr);
  assert.ok(started.ms < 10_000, `start --daemon took ${started.ms} ms`);
  const pid = daemonPid = readPid(pidFile);
  assert.ok(pid !== undefined && isAlive(pid));
  // The pid file is the bare pid on one line, so `kill -USR1 $(cat yalb.pid)` works; the identity is beside it.
  assert.equal(readFileSync(pidFile, 'utf8'), `${pid}\n`);
  assert.match(readFileSync(identityFile(pidFile), 'utf8'), new RegExp(`^yalb pid=${pid}[ \\n]`));
  assert.match(started.stdout, new RegExp(`pid ${pid}`));
  assert.equal((await request(`http://127.0.0.1:${port}/`)).body, 'b1\n');

  // A second start on the same pid file is refused.
  const again = await runCli(['start', '--daemon', '-c', file, '--pid-file', pidFile]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already running/);

  // status prints every backend.
  const status = await runCli(['status', '-c', file]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(b1!.url.replace(/[.]/g, '\\.')));
  const json = JSON.parse((await runCli(['status', '-c', file, '--json'])).stdout) as { pid: number; backends: unknown[] };
  assert.equal(json.pid, pid);

  // reload applies and reports (the watcher may apply first; then reload says "up to date").
  writeFileSync(file, config(port, adminPort, [b1!.url, b2!.url]));
  const reload = await runCli(['reload', '--pid-file', pidFile]);
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, /applied|up to date/);
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).body === 'b2\n' || (await request(`http://127.0.0.1:${port}/`)).body === 'b2\n', { what: 'b2 serving' });

  // An invalid file: reload reports file:line:col and exits 1; the daemon keeps serving.
  writeFileSync(file, `${config(port, adminPort, [b1!.url])}strategy: bogus\n`);
  const bad = await runCli(['reload', '--pid-file', pidFile]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /lb\.yaml:\d+:\d+: /);
  assert.equal((await request(`http://127.0.0.1:${port}/`)).status, 200);

  // stop drains, exits and removes the pid file and its identity file.
  const stop = await runCli(['stop', '--pid-file', pidFile]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.ok(!isAlive(pid));
  assert.ok(!existsSync(pidFile));
  assert.ok(!existsSync(identityFile(pidFile)));
  assert.match(readFileSync(logFile, 'utf8'), /yalb stopped/);
});

test('a stale pid file is replaced, and its identity file too', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const pidFile = path.join(dir, 'yalb.pid');
  const idFile = identityFile(pidFile);
  writeFileSync(file, config(await deadPort(), await deadPort(), [b1!.url]));
  writeFileSync(pidFile, '999999\n');
  writeFileSync(idFile, 'yalb pid=999999 start=1 boot=00000000-0000-0000-0000-000000000000\n');
  const child = spawnCli(t, ['start', '-c', file, '--pid-file', pidFile]);
  await waitFor(() => readPid(pidFile) === child.pid, { what: 'pid file rewritten' });
  assert.equal(readFileSync(pidFile, 'utf8'), `${child.pid}\n`);
  assert.match(readFileSync(idFile, 'utf8'), new RegExp(`^yalb pid=${child.pid}[ \\n]`));
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0);
  assert.ok(!existsSync(pidFile));
  assert.ok(!existsSync(idFile));
});

test('start --daemon with an invalid config prints the error and exits 1', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, 'listen: 127.0.0.1:0\nbackends: []\n');
  const r = await runCli(['start', '--daemon', '-c', file, '--pid-file', path.join(dir, 'p.pid')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /lb\.yaml:2:\d+: /);
});

test('foreground start: SIGTERM drains an in-flight request, then exits 0', async (t) => {
  const [slow] = await startBackends(t, 1);
  slow!.behaviour = { kind: 'delay', ms: 800 };
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  writeFileSync(file, `listen: 127.0.0.1:${port}\nbackends:\n  - url: ${slow!.url}\n`);
  const child = spawnCli(t, ['start', '-c', file]);
  await waitFor(() => /listening on/.test(child.output()), { what: 'listening', timeoutMs: 10_000 });
  const inFlight = request(`http://127.0.0.1:${port}/`);
  await waitFor(() => slow!.hits === 1, { what: 'request at the backend' });
  child.kill('SIGTERM');
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b1\n');
  const { code } = await exited(child);
  assert.equal(code, 0, child.output());
  assert.match(child.output(), /SIGTERM: stopping/);
});

/** connectWhenListening retries a TCP connect to 127.0.0.1:port, without pause, until one is accepted or the deadline passes. */
async function connectWhenListening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() >= deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
  }
}

// Regression test: the stop handlers were installed only after start-up
// (admin API, watcher, a reload check) had finished, so a SIGTERM that came
// as soon as the listener accepted killed the process instead of draining.
test('foreground start: SIGTERM the moment the listener accepts still drains and exits 0', async (t) => {
  const [b1] = await startBackends(t, 1);
  for (let i = 0; i < 3; i++) {
    const dir = tempDir(t);
    const file = path.join(dir, 'lb.yaml');
    const port = await deadPort();
    writeFileSync(file, config(port, await deadPort(), [b1!.url]));
    const child = spawnCli(t, ['start', '-c', file]);
    await connectWhenListening(port, 15_000);
    child.kill('SIGTERM');
    const { code, signal } = await exited(child);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `round ${i}: ${child.output()}`);
    assert.match(child.output(), /yalb stopped/);
  }
});

test('foreground start: SIGHUP reloads', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  writeFileSync(file, `listen: 127.0.0.1:${port}\nbackends:\n  - url: ${b1!.url}\n`);
  const child = spawnCli(t, ['start', '-c', file]);
  await waitFor(() => /listening on/.test(child.output()), { what: 'listening', timeoutMs: 10_000 });
  child.kill('SIGHUP'); // unchanged: nothing applied, still serving
  await waitFor(() => /SIGHUP/.test(child.output()), { what: 'SIGHUP logged' });
  assert.equal((await request(`http://127.0.0.1:${port}/`)).body, 'b1\n');
  writeFileSync(file, `listen: 127.0.0.1:${port}\nbackends:\n  - url: ${b2!.url}\n`);
  child.kill('SIGHUP');
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/`)).body === 'b2\n', { what: 'b2 serving after SIGHUP' });
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0);
});

test('foreground start --log-file: SIGUSR1 reopens the log after logrotate moved it', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const log = path.join(dir, 'yalb.log');
  const access = path.join(dir, 'access.log');
  const port = await deadPort();
  writeFileSync(file, `listen: 127.0.0.1:${port}\nbackends:\n  - url: ${b1!.url}\naccessLog:\n  path: ${access}\n`);
  const child = spawnCli(t, ['start', '-c', file, '--log-file', log]);
  await waitFor(() => existsSync(log) && /listening on/.test(readFileSync(log, 'utf8')), { what: 'listening in the log file', timeoutMs: 10_000 });
  await request(`http://127.0.0.1:${port}/before`);
  await waitFor(() => existsSync(access) && readFileSync(access, 'utf8').includes('/before'), { what: 'access line before rotation' });
  renameSync(log, `${log}.1`);
  renameSync(access, `${access}.1`);
  child.kill('SIGUSR1');
  await waitFor(() => existsSync(log) && /SIGUSR1/.test(readFileSync(`${log}.1`, 'utf8') + readFileSync(log, 'utf8')), { what: 'new log file' });
  await request(`http://127.0.0.1:${port}/after`);
  await waitFor(() => existsSync(access) && readFileSync(access, 'utf8').includes('/after'), { what: 'access line in the new file' });
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0);
  assert.match(readFileSync(log, 'utf8'), /yalb stopped/);
  assert.ok(!readFileSync(`${access}.1`, 'utf8').includes('/after'));
});
