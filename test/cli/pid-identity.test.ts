/**
 * The pid file identifies the daemon for sure: it holds the bare pid (one
 * line, so `kill $(cat yalb.pid)` works), and the identity file beside it,
 * `<pid file>.id`, that pid's process start time (/proc/PID/stat field 22)
 * and boot id. `yalb stop` and `yalb reload` signal a pid only when its start
 * time matches, so a recycled pid that now runs, say, `vim
 * /etc/yalb/lb.yaml` is never sent SIGTERM; and `yalb start` takes over a
 * pid file only when it is stale by the same test. Spawns the built CLI;
 * every process is killed in teardown.
 *
 * Regression test for: a pid was accepted when /proc/PID/cmdline matched
 * /yalb|dist\/cli\.js/, which any process with "yalb" in an argument does.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { identityFile, isAlive, readPid } from '../../src/cli/pid-file.js';
import { startBackends } from '../helpers/backend.js';
import { exited, runCli, spawnCli } from '../helpers/cli.js';
import { tempDir, type Teardown } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const hasProc = existsSync('/proc/self/stat');

/** startTicks reads field 22 of /proc/PID/stat (the process start time in clock ticks since boot). */
function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
}

/** bootId is this boot's id, as the daemon records it. */
function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** impostor starts a live process that is not yalb but has "yalb" in its command line; killed in teardown. */
async function impostor(t: Teardown, dir: string): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', path.join(dir, 'yalb-lb.yaml')], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  assert.match(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8'), /yalb/, 'the impostor must look like yalb to the old check');
  return child as ChildProcess & { pid: number };
}

/** startSetup gives a start test a backend, an lb.yaml on a free port, a pid file path and a live impostor process. */
async function startSetup(t: Teardown): Promise<{ dir: string; file: string; pidFile: string; other: ChildProcess & { pid: number } }> {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, `listen: 127.0.0.1:${await deadPort()}\nbackends:\n  - url: ${b1!.url}\n`);
  return { dir, file, pidFile: path.join(dir, 'yalb.pid'), other: await impostor(t, dir) };
}

test('stop and reload refuse a live pid whose identity file is missing or names another pid, and signal nothing', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'yalb.pid');
  const other = await impostor(t, dir);
  writeFileSync(pidFile, `${other.pid}\n`); // what a yalb before the identity file wrote

  const refused = (cmd: string, kill: string) => `yalb: pid file ${pidFile} names pid ${other.pid}, which is running, `
    + `but its identity file ${pidFile}.id is missing or does not match, `
    + `so it cannot be told apart from another program that reuses the pid; nothing was sent. `
    + `Check it with \`ps -p ${other.pid} -o pid,lstart,args\` and, if it is yalb, ${cmd} it with \`${kill}\` (YALB_ERR_PID_FILE)`;
  const stop = await runCli(['stop', '--pid-file', pidFile]);
  assert.equal(stop.code, 1, stop.stdout);
  assert.equal(stop.stderr.trim(), refused('stop', `kill ${other.pid}`));
  const reload = await runCli(['reload', '--pid-file', pidFile]);
  assert.equal(reload.code, 1, reload.stdout);
  assert.equal(reload.stderr.trim(), refused('reload', `kill -HUP ${other.pid}`));

  // An identity file written for another pid is no identity for this one,
  // even when its start time would match.
  const idFile = identityFile(pidFile);
  const foreign = `yalb pid=${other.pid + 1} start=${startTicks(other.pid)} boot=${bootId()}\n`;
  writeFileSync(idFile, foreign);
  for (const [cmd, kill] of [['stop', `kill ${other.pid}`], ['reload', `kill -HUP ${other.pid}`]] as const) {
    const r = await runCli([cmd, '--pid-file', pidFile]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stderr.trim(), refused(cmd, kill));
  }

  assert.ok(isAlive(other.pid), 'the impostor was signalled');
  assert.equal(other.signalCode, null);
  assert.equal(readFileSync(pidFile, 'utf8'), `${other.pid}\n`, 'the pid file is left as it was');
  assert.equal(readFileSync(idFile, 'utf8'), foreign, 'the identity file is left as it was');
});

test('stop and reload treat a pid whose start time differs as a recycled pid: no daemon, nothing signalled', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'yalb.pid');
  const other = await impostor(t, dir);
  const recorded = String(Number(startTicks(other.pid)) - 1);
  writeFileSync(pidFile, `${other.pid}\n`);
  writeFileSync(identityFile(pidFile), `yalb pid=${other.pid} start=${recorded} boot=${bootId()}\n`);

  for (const cmd of ['stop', 'reload']) {
    const r = await runCli([cmd, '--pid-file', pidFile]);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stderr.trim(),
      `yalb: no running daemon (pid file ${pidFile}: pid ${other.pid} is now another process, started at tick ${startTicks(other.pid)}, not ${recorded}) (YALB_ERR_NOT_RUNNING)`);
  }
  // The same holds for a pid file from an earlier boot with the same start time.
  writeFileSync(identityFile(pidFile), `yalb pid=${other.pid} start=${startTicks(other.pid)} boot=00000000-0000-0000-0000-000000000000\n`);
  const stop = await runCli(['stop', '--pid-file', pidFile]);
  assert.equal(stop.code, 1, stop.stdout);
  assert.match(stop.stderr.trim(), /^yalb: no running daemon \(pid file .*: pid \d+ is now another process, from another boot\) \(YALB_ERR_NOT_RUNNING\)$/);
  assert.ok(isAlive(other.pid), 'the impostor was signalled');
});

test('start refuses a pid file without an identity file that names a live process', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const { dir, file, pidFile, other } = await startSetup(t);
  writeFileSync(pidFile, `${other.pid}\n`);
  const why = `${pidFile} names pid ${other.pid}, which is running, but its identity file ${pidFile}.id is missing or does not match, `
    + `so it cannot be told apart from another program that reuses the pid. Check it with \`ps -p ${other.pid} -o pid,lstart,args\`: `
    + `if it is yalb, stop it with \`kill ${other.pid}\`; if not, remove ${pidFile} (YALB_ERR_PID_FILE)`;

  const daemon = await runCli(['start', '--daemon', '-c', file, '--pid-file', pidFile]);
  assert.equal(daemon.code, 1, daemon.stdout);
  assert.equal(daemon.stderr.trim(), `yalb: cannot start: ${why}`);
  const fg = await runCli(['start', '-c', file, '--pid-file', pidFile]);
  assert.equal(fg.code, 1, fg.stdout);
  assert.match(fg.stderr, new RegExp(`^yalb: cannot start: ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.ok(isAlive(other.pid));
  assert.equal(readFileSync(pidFile, 'utf8'), `${other.pid}\n`);
  assert.ok(!existsSync(identityFile(pidFile)), 'a refused start leaves no identity file behind');
});

test('start takes over a pid file whose pid is now another process, and leaves that process alone', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const { dir, file, pidFile, other } = await startSetup(t);
  const idFile = identityFile(pidFile);
  writeFileSync(pidFile, `${other.pid}\n`);
  writeFileSync(idFile, `yalb pid=${other.pid} start=${Number(startTicks(other.pid)) + 1} boot=${bootId()}\n`);
  const child = spawnCli(t, ['start', '-c', file, '--pid-file', pidFile]);
  await waitFor(() => readPid(pidFile) === child.pid, { what: 'pid file taken over', timeoutMs: 10_000 });
  const pid = child.pid!;
  // The identity file is in place before the pid file is: the stale one was replaced.
  assert.equal(readFileSync(idFile, 'utf8'), `yalb pid=${pid} start=${startTicks(pid)} boot=${bootId()}\n`);
  assert.equal(readFileSync(pidFile, 'utf8'), `${pid}\n`);
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0, child.output());
  assert.ok(isAlive(other.pid));
  assert.ok(!existsSync(pidFile));
  assert.ok(!existsSync(idFile));
});

test('start --daemon writes a one-line pid file and its identity file; stop accepts them and the daemon stops', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const pidFile = path.join(dir, 'yalb.pid');
  writeFileSync(file, `listen: 127.0.0.1:${await deadPort()}\nbackends:\n  - url: ${b1!.url}\n`);
  // The pid is kept as soon as it is known: tempDir's teardown, registered
  // first, runs first and removes the pid file before this one runs.
  let daemonPid: number | undefined;
  t.after(() => {
    if (daemonPid && isAlive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  });
  const started = await runCli(['start', '--daemon', '-c', file, '--pid-file', pidFile], { timeoutMs: 15_000 });
  assert.equal(started.code, 0, started.stderr);
  const pid = daemonPid = readPid(pidFile);
  assert.ok(pid !== undefined && isAlive(pid));
  // One line, the bare pid: `kill -USR1 $(cat yalb.pid)` (logrotate, scripts) works in any shell.
  assert.equal(readFileSync(pidFile, 'utf8'), `${pid}\n`);
  execFileSync('/bin/sh', ['-c', 'kill -0 $(cat "$1")', 'sh', pidFile], { stdio: 'pipe' });
  assert.equal(readFileSync(identityFile(pidFile), 'utf8'), `yalb pid=${pid} start=${startTicks(pid)} boot=${bootId()}\n`);

  const reload = await runCli(['reload', '--pid-file', pidFile]);
  assert.equal(reload.code, 0, reload.stderr);
  const stop = await runCli(['stop', '--pid-file', pidFile]);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^stopped \\(pid ${pid}, `));
  assert.ok(!isAlive(pid));
  assert.ok(!existsSync(pidFile));
  assert.ok(!existsSync(identityFile(pidFile)));
});
