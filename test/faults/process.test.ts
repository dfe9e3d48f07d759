/**
 * Fault suite, process half (issue 12, item 4): signals and pid files as
 * they come in real life, against the built CLI (`node dist/cli.js`), real
 * backends on 127.0.0.1, real signals and HTTP. Every process is killed in
 * teardown.
 *
 * - 50 SIGHUPs within one second, the file switching between two valid
 *   configs before each one: the daemon ends on the last file (config hash
 *   and backends in /status), stays up, and drops no request meanwhile.
 * - SIGTERM while a reload waits on the first probe of a new backend that
 *   never answers its health check: the process exits 0 within the drain
 *   bound (10 s, `yalb stop --help`) and removes its pid file.
 * - `yalb stop` / `yalb reload` with a pid file naming an unrelated live
 *   process (`sleep 30`) never signal it. The plain cases (no identity file,
 *   one written for another pid, a recycled pid whose start time differs)
 *   are in test/cli/pid-identity.test.ts; here the variants: an identity
 *   file in the short form (`yalb pid=N`, no start time), an identity path
 *   that cannot be read (a directory), and a pid file saying 0 (which
 *   kill(2) would take as "my whole process group").
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { identityFile, isAlive } from '../../src/cli/pid-file.js';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { CLI, exited, runCli, spawnCli } from '../helpers/cli.js';
import { request, type Teardown, tempDir } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

/** The parts of GET /status these tests read. */
interface StatusDoc {
  configHash: string;
  lastReload: { ok: boolean; errors?: string[] } | null;
  backends: Array<{ url: string }>;
}

/** DRAIN_BOUND_MS: SIGTERM lets in-flight requests finish for up to 10 s (`yalb stop --help`, DaemonOptions.drainMs). */
const DRAIN_BOUND_MS = 10_000;

function config(port: number, adminPort: number, backends: string[], extra = ''): string {
  return `listen: 127.0.0.1:${port}\nadmin:\n  listen: 127.0.0.1:${adminPort}\nbackends:\n${backends.map((u) => `  - url: ${u}\n`).join('')}${extra}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function getStatus(adminPort: number): Promise<StatusDoc> {
  const r = await request(`http://127.0.0.1:${adminPort}/status`, { timeoutMs: 5000 });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as StatusDoc;
}

/** startForeground runs `yalb start -c file --pid-file pidFile` and waits until it listens. */
async function startForeground(t: Teardown, file: string, pidFile: string): Promise<ChildProcess & { output: () => string }> {
  const child = spawnCli(t, ['start', '-c', file, '--pid-file', pidFile]);
  await waitFor(() => /listening on/.test(child.output()) || child.exitCode !== null, { what: 'yalb listening', timeoutMs: 15_000 });
  assert.equal(child.exitCode, null, child.output());
  return child;
}

/** exitedWithin resolves with the exit of `child`, or undefined if it is still running after `ms`. */
async function exitedWithin(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  try {
    return await Promise.race([exited(child), late]);
  } finally {
    clearTimeout(timer);
  }
}

test('50 SIGHUPs in one second, alternating two configs, end on the last file; the daemon stays up and drops nothing', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const pidFile = path.join(dir, 'yalb.pid');
  const port = await deadPort();
  const admin = await deadPort();
  const A = config(port, admin, [b1!.url]);
  const B = config(port, admin, [b2!.url]);
  writeFileSync(file, A);
  const child = await startForeground(t, file, pidFile);
  const url = `http://127.0.0.1:${port}/`;

  // Traffic all along: one request at a time, every answer must be a 200 from b1 or b2.
  let traffic = true;
  const seen = { ok: 0, bad: [] as string[] };
  const client = (async () => {
    for (let i = 0; traffic && i < 100_000; i++) {
      try {
        const r = await request(url, { timeoutMs: 5000 });
        if (r.status === 200 && /^b[12]\n$/.test(r.body)) seen.ok++;
        else seen.bad.push(`${r.status} ${r.body.trim()}`);
      } catch (err) {
        seen.bad.push((err as Error).message);
      }
    }
  })();

  // 50 signals paced evenly over one second (pacing of the scenario, not a wait for a result).
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    writeFileSync(file, i % 2 === 0 ? A : B); // i = 49 writes B: the known final state
    child.kill('SIGHUP');
    const next = t0 + (i + 1) * 20;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const sent = performance.now();
  const want = sha256(B);
  const final = await waitFor(async () => {
    const s = await getStatus(admin);
    return s.configHash === want && s.lastReload?.ok === true && s.backends.map((b) => b.url).join() === b2!.url ? s : undefined;
  }, { what: 'the config of the last file (B) in /status', timeoutMs: 10_000, intervalMs: 10 });
  const settleMs = performance.now() - sent;
  traffic = false;
  await client;

  assert.equal(child.exitCode, null, `the daemon is still up\n${child.output()}`);
  assert.equal((await request(url)).body, 'b2\n');
  assert.equal((await request(url)).body, 'b2\n');
  assert.deepEqual(seen.bad, [], `requests that failed during the SIGHUPs (${seen.ok} ok)`);
  assert.ok(seen.ok > 0);
  assert.doesNotMatch(child.output(), /internal error/);
  const applied = (child.output().match(/reload applied \(SIGHUP\)/g) ?? []).length;
  t.diagnostic(`50 SIGHUPs sent in ${(sent - t0).toFixed(0)} ms; /status showed the last file ${settleMs.toFixed(0)} ms after the last one `
    + `(hash ${final.configHash.slice(0, 12)}); ${applied} reloads applied by SIGHUP; ${seen.ok} requests served meanwhile, none failed`);
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0, child.output());
});

// Was a defect (found by this case): stop() waited for the reload in progress,
// whose first probe of the new backend is bounded only by healthCheck.timeout
// (15 s here), while the listener kept accepting; the reload was applied after
// the SIGTERM. Now the stop aborts the reload's probes and never commits it.
test('SIGTERM during a slow reload (a new backend\'s first health probe hangs): exit 0 at once, the reload not applied, no pid file left', async (t) => {
  const [b1] = await startBackends(t, 1);
  // Accepts TCP and reads the probe, never answers it.
  const slow = await new TestBackend('slow').start();
  slow.behaviour = { kind: 'stall' };
  t.after(() => slow.stop());
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const pidFile = path.join(dir, 'yalb.pid');
  const port = await deadPort();
  const admin = await deadPort();
  // The probe timeout is longer than the drain bound: a stop that waits for the probe shows.
  const health = 'healthCheck:\n  path: /health\n  timeout: 15s\n  interval: 20s\n';
  writeFileSync(file, config(port, admin, [b1!.url], health));
  const child = await startForeground(t, file, pidFile);
  // The pid file is written just after the "listening" line.
  await waitFor(() => existsSync(pidFile), { what: 'the pid file' });

  writeFileSync(file, config(port, admin, [b1!.url, slow.url], health));
  child.kill('SIGHUP');
  // The reload is under way once the new backend has the probe.
  await waitFor(() => slow.seen.some((r) => r.url === '/health') || slow.hits > 0, { what: 'the first probe at the new backend', timeoutMs: 5000 });
  assert.equal((await getStatus(admin)).backends.length, 1, 'the reload has not been applied yet');

  const t0 = performance.now();
  child.kill('SIGTERM');
  // What a client sees once the stop has begun (a diagnostic: during the drain a late request may still be served).
  await waitFor(() => /SIGTERM: stopping/.test(child.output()) || child.exitCode !== null, { what: 'the stop logged', timeoutMs: 5000 });
  const late = await request(`http://127.0.0.1:${port}/`, { timeoutMs: 2000 }).then((r) => `served ${r.status}`, (err: NodeJS.ErrnoException) => err.code ?? err.message);
  t.diagnostic(`a new request ${(performance.now() - t0).toFixed(0)} ms after SIGTERM: ${late}`);
  const exit = await exitedWithin(child, DRAIN_BOUND_MS + 8000);
  const ms = performance.now() - t0;
  t.diagnostic(`SIGTERM → exit ${exit ? `${JSON.stringify(exit)} after ${ms.toFixed(0)} ms` : `none within ${ms.toFixed(0)} ms`}`);
  assert.ok(exit, `still running ${ms.toFixed(0)} ms after SIGTERM\n${child.output()}`);
  assert.deepEqual(exit, { code: 0, signal: null }, child.output());
  assert.ok(ms <= DRAIN_BOUND_MS + 1000, `exited ${ms.toFixed(0)} ms after SIGTERM, beyond the drain bound of ${DRAIN_BOUND_MS} ms\n${child.output()}`);
  assert.ok(!existsSync(pidFile), 'the pid file is removed');
  assert.ok(!existsSync(identityFile(pidFile)), 'the identity file is removed');
  assert.ok(ms < 5000, `exited ${ms.toFixed(0)} ms after SIGTERM: nothing was in flight, the slow probe must not hold the stop`);
  assert.doesNotMatch(child.output(), /reload applied/, 'the reload cut short by the stop is never committed');
});

/** sleeper starts `sleep 30` (a live process that is not yalb); killed in teardown. */
async function sleeper(t: Teardown): Promise<ChildProcess & { pid: number }> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child as ChildProcess & { pid: number };
}

function assertUntouched(p: ChildProcess & { pid: number }, what: string): void {
  assert.ok(isAlive(p.pid), `${what}: sleep ${p.pid} is gone`);
  assert.equal(p.exitCode, null, what);
  assert.equal(p.signalCode, null, `${what}: sleep was signalled`);
}

test('stop and reload never signal an unrelated live process (sleep 30) named by a stale pid file: identity without a start time, or unreadable', { skip: !existsSync('/proc/self/stat') && 'needs /proc' }, async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'yalb.pid');
  const sleep = await sleeper(t);
  writeFileSync(pidFile, `${sleep.pid}\n`);

  // (a) The identity file names this very pid, in the short form a daemon writes where it could not read /proc: no start time, no proof.
  writeFileSync(identityFile(pidFile), `yalb pid=${sleep.pid}\n`);
  for (const cmd of ['stop', 'reload']) {
    const r = await runCli([cmd, '--pid-file', pidFile]);
    assert.equal(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`names pid ${sleep.pid}, which is running, .*nothing was sent.*\\(YALB_ERR_PID_FILE\\)`));
    assertUntouched(sleep, `${cmd} with a short identity file`);
  }

  // (b) The identity path cannot be read (a directory stands there).
  writeFileSync(pidFile, `${sleep.pid}\n`);
  rmSync(identityFile(pidFile), { force: true });
  mkdirSync(identityFile(pidFile));
  for (const cmd of ['stop', 'reload']) {
    const r = await runCli([cmd, '--pid-file', pidFile]);
    assert.equal(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /nothing was sent.*\(YALB_ERR_PID_FILE\)/);
    assertUntouched(sleep, `${cmd} with an unreadable identity file`);
  }
});

test('stop and reload with a pid file saying 0 (kill(0) = the caller\'s process group) signal nothing', async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'yalb.pid');
  writeFileSync(pidFile, '0\n');
  writeFileSync(identityFile(pidFile), 'yalb pid=0 start=1\n');
  for (const cmd of ['stop', 'reload']) {
    // sh starts a `sleep 30` and then becomes the CLI, in a process group of
    // their own: a kill(0, …) by the CLI would hit the sleep, not this test.
    const out = path.join(dir, `${cmd}.out`);
    const sh = spawn('/bin/sh', ['-c', 'sleep 30 & echo $! > "$1.sleep"; exec "$2" "$3" "$4" --pid-file "$5" > "$1" 2>&1', 'sh',
      out, process.execPath, CLI, cmd, pidFile], { detached: true, stdio: 'ignore' });
    let sleepPid: number | undefined;
    t.after(() => {
      if (sleepPid && isAlive(sleepPid)) process.kill(sleepPid, 'SIGKILL');
      if (sh.exitCode === null && sh.signalCode === null) sh.kill('SIGKILL');
    });
    const exit = await exitedWithin(sh, 20_000);
    sleepPid = Number(readFileSync(`${out}.sleep`, 'utf8').trim());
    const text = readFileSync(out, 'utf8');
    assert.deepEqual(exit, { code: 1, signal: null }, `${cmd}: ${text}`);
    assert.match(text, /no running daemon/);
    assert.ok(sleepPid > 0 && isAlive(sleepPid), `${cmd}: the sleep in the CLI's process group was signalled`);
  }
});
