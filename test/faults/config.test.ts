/**
 * Fault suite, config half (issue 12, item 4): a broken lb.yaml never takes
 * the running config down. Each case starts a real daemon (in process, real
 * backends on 127.0.0.1:0, the admin API on), breaks its config file in one
 * way, triggers a reload the way SIGHUP does (`daemon.reload`, the path the
 * signal handler calls), and checks that
 *   - the reload fails with an error that names the file and the reason,
 *   - the reason is logged ("reload failed … keeping the running config"),
 *   - GET /status on the admin API shows `lastReload` with ok:false and that
 *     reason, and still the old config hash and generation,
 *   - a request still gets 200 from the old backend.
 *
 * Cases: a half-written file (truncated mid-key), a binary file, a 10 MiB
 * file, a YAML alias bomb (billion laughs; rejected in well under a second,
 * timed), duplicate keys, the file replaced by a directory, permission
 * denied, and a symlink loop. Permission denied needs a reader that chmod
 * 000 stops: as root (which reads any file) the daemon is run through the
 * real CLI as uid 65534 (nobody) instead, and signalled with a real SIGHUP.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Daemon } from '../../src/daemon/daemon.js';
import { startBackends } from '../helpers/backend.js';
import { CLI, exited } from '../helpers/cli.js';
import { type LogCapture, request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { mulberry32 } from '../helpers/random.js';
import { waitFor } from '../helpers/wait.js';

/** LastReload as GET /status shows it. */
type LastReloadDoc = { ok: true; hash: string } | { ok: false; errors: string[]; trigger: string };
/** The parts of GET /status these tests read. */
interface StatusDoc { configHash: string; generation: number; lastReload: LastReloadDoc | null; backends: Array<{ url: string }> }

const ADMIN = 'admin:\n  listen: 127.0.0.1:0\n';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** getStatus reads GET /status from an admin API on 127.0.0.1:port. */
async function getStatus(port: number): Promise<StatusDoc> {
  const r = await request(`http://127.0.0.1:${port}/status`, { timeoutMs: 5000 });
  assert.equal(r.status, 200, `GET /status: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as StatusDoc;
}

/** messageOf is the message of one log line (JSON from the test logger), or the raw line. */
function messageOf(line: string): string {
  try {
    const o = JSON.parse(line) as { msg?: unknown };
    return typeof o.msg === 'string' ? o.msg : line;
  } catch {
    return line;
  }
}

/** FaultOutcome is what a case reports: the reload's error and how long the reload took. */
interface FaultOutcome { error: string; reloadMs: number }

/**
 * faultCase starts a daemon on a valid config with backend b1, lets `breakIt`
 * damage the config file, reloads, and checks the four promises of the file
 * header against `reason` (matched after `<file>:`).
 */
async function faultCase(t: TestContext, breakIt: (file: string, dir: string) => void, reason: RegExp): Promise<FaultOutcome> {
  const [b1] = await startBackends(t, 1);
  const { daemon, file, dir, url, logs } = await startTestDaemon(t, yamlConfig([b1!.url], ADMIN));
  const before = await getStatus(adminPort(daemon));
  assert.equal((await request(url)).body, 'b1\n');

  breakIt(file, dir);
  const from = logs.lines.length;
  const t0 = performance.now();
  const result = await daemon.reload('test');
  const reloadMs = performance.now() - t0;

  const named = new RegExp(`^${escape(file)}:${reason.source}`, reason.flags);
  assert.equal(result.ok, false, 'the reload must fail');
  assert.ok(!result.ok);
  assert.equal(result.errors.length, 1, result.errors.join('\n'));
  assert.match(result.errors[0]!, named);

  await checkReported(logs, from, named);
  const status = await getStatus(adminPort(daemon));
  assert.equal(status.lastReload?.ok, false, `lastReload: ${JSON.stringify(status.lastReload)}`);
  assert.ok(status.lastReload && !status.lastReload.ok);
  assert.match(status.lastReload.errors.join('\n'), named);
  assert.equal(status.configHash, before.configHash, 'the running config is the old one');
  assert.equal(status.generation, before.generation);
  assert.deepEqual(status.backends.map((b) => b.url), [b1!.url]);

  const r = await request(url);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b1\n', 'the old backend still serves');
  return { error: result.errors[0]!, reloadMs };
}

function adminPort(daemon: Daemon): number {
  const a = daemon.adminAddress;
  assert.ok(a, 'the admin API is on');
  return a.port;
}

/** checkReported waits for the "reload failed" log line (after index `from`) that carries the reason. */
async function checkReported(logs: LogCapture, from: number, named: RegExp): Promise<void> {
  // One line per event: the problems are in the line's `errors` field (and joined in its text).
  const errorsOf = (line: string): string[] => {
    try {
      const e = (JSON.parse(line) as { errors?: unknown }).errors;
      return Array.isArray(e) ? e.map(String) : [];
    } catch {
      return [];
    }
  };
  await waitFor(() => logs.lines.slice(from).find((l) => messageOf(l).startsWith('reload failed') && errorsOf(l).some((e) => named.test(e))), {
    timeoutMs: 3000, what: `a "reload failed" log line matching ${named}`,
  });
}

test('a half-written file (truncated mid-key) keeps the running config and is reported', async (t) => {
  const { error } = await faultCase(t, (file) => {
    const full = `listen: 127.0.0.1:0\n${ADMIN}backends:\n  - url: http://127.0.0.1:1\nhealthCheck:\n  interval: 20s\n`;
    writeFileSync(file, full.slice(0, full.indexOf('healthCheck') + 6)); // "…\nhealth": cut inside the key
  }, /6:1: YAML syntax error: /);
  t.diagnostic(error);
});

test('a binary file (random bytes with NUL) keeps the running config and is reported', async (t) => {
  const random = mulberry32(12);
  const bytes = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
  bytes[1000] = 0; // at least one NUL, wherever the random ones fall
  const first = bytes.indexOf(0);
  const { error } = await faultCase(t, (file) => writeFileSync(file, bytes), new RegExp(`1:1: file looks binary \\(NUL byte at offset ${first}\\)`));
  t.diagnostic(error);
});

test('a 10 MiB file keeps the running config and is reported as too large', async (t) => {
  const { error, reloadMs } = await faultCase(t, (file) => {
    // A valid config padded with comments: the size is the only fault.
    const head = `listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:1\n`;
    const size = 10 * 1024 * 1024;
    const pad = '# padding padding padding padding padding padding padding padding\n';
    const text = head + pad.repeat(Math.ceil((size - head.length) / pad.length));
    writeFileSync(file, text.slice(0, size));
  }, /1:1: file is too large \(10485760 bytes; the limit is 1048576 bytes = 1 MiB\)/);
  t.diagnostic(`${error} (reload ${reloadMs.toFixed(1)} ms)`);
});

test('a YAML alias bomb (billion laughs, 10 levels of 10 aliases) is rejected in well under a second', async (t) => {
  const { error, reloadMs } = await faultCase(t, (file) => {
    const lines = ['listen: 127.0.0.1:0', 'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i <= 10; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
    // 10^11 strings if expanded; the backends list aliases the top level too.
    lines.push('backends: *l10');
    writeFileSync(file, `${lines.join('\n')}\n`);
  }, /1:1: YAML: .*alias/i);
  t.diagnostic(`alias bomb rejected in ${reloadMs.toFixed(1)} ms: ${error}`);
  assert.ok(reloadMs < 1000, `the alias bomb took ${reloadMs.toFixed(0)} ms to reject (limit 1000 ms)`);
});

test('duplicate keys keep the running config and are reported at the second key', async (t) => {
  const { error } = await faultCase(t, (file) => {
    writeFileSync(file, `listen: 127.0.0.1:0\n${ADMIN}backends:\n  - url: http://127.0.0.1:1\nlisten: 127.0.0.1:1\n`);
  }, /6:1: duplicate key "listen": each key may appear only once in a mapping/);
  t.diagnostic(error);
});

test('the config file replaced by a directory keeps the running config and is reported', async (t) => {
  const { error } = await faultCase(t, (file) => {
    rmSync(file);
    mkdirSync(file);
  }, /1:1: is a directory, expected a YAML file/);
  t.diagnostic(error);
});

test('a symlink loop (lb.yaml → a → b → a) keeps the running config and is reported', async (t) => {
  const { error } = await faultCase(t, (file, dir) => {
    rmSync(file);
    symlinkSync('a', file);
    symlinkSync('b', path.join(dir, 'a'));
    symlinkSync('a', path.join(dir, 'b'));
  }, /1:1: .*(ELOOP|too many (levels of )?symbolic links)/);
  t.diagnostic(error);
});

// ---- permission denied ------------------------------------------------------

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * nobodyCanRun tells whether uid 65534 can run the built CLI (it must reach
 * node, dist/ and node_modules/); undefined when it can, else why not.
 */
function whyNobodyCannotRun(): string | undefined {
  if (!isRoot) return undefined;
  const r = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(CLI)}, require('node:fs').constants.R_OK)`], {
    uid: NOBODY, gid: NOBODY, stdio: 'ignore', timeout: 10_000,
  });
  return r.error ? `cannot run node as uid ${NOBODY}: ${r.error.message}` : r.status !== 0 ? `uid ${NOBODY} cannot read ${CLI}` : undefined;
}

test('permission denied (chmod 000) keeps the running config and is reported', async (t) => {
  if (!isRoot) {
    const { error } = await faultCase(t, (file) => chmodSync(file, 0o000), /1:1: permission denied: the file cannot be read/);
    t.diagnostic(error);
    return;
  }
  // Root reads a chmod 000 file anyway, so the same fault is staged for a
  // daemon that runs as nobody: the real CLI, a real SIGHUP, /status over HTTP.
  const why = whyNobodyCannotRun();
  if (why) {
    t.skip(`running as root, where chmod 000 does not deny, and the daemon cannot be run as nobody instead: ${why}`);
    return;
  }
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  chownSync(dir, NOBODY, NOBODY);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  const admin = await deadPort();
  writeFileSync(file, `listen: 127.0.0.1:${port}\nadmin:\n  listen: 127.0.0.1:${admin}\nbackends:\n  - url: ${b1!.url}\n`, { mode: 0o644 });
  const child: ChildProcess = spawn(process.execPath, [CLI, 'start', '-c', file], { uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => { out += c; });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  });
  await waitFor(() => /listening on/.test(out) || child.exitCode !== null, { what: 'the daemon (as nobody) listening', timeoutMs: 15_000 });
  assert.equal(child.exitCode, null, out);
  const before = await getStatus(admin);

  chmodSync(file, 0o000);
  child.kill('SIGHUP');
  const named = new RegExp(`^${escape(file)}:1:1: permission denied: the file cannot be read`);
  const status = await waitFor(async () => {
    const s = await getStatus(admin);
    return s.lastReload?.ok === false ? s : undefined;
  }, { what: 'a failed reload in /status', timeoutMs: 5000 });
  assert.ok(status.lastReload && !status.lastReload.ok);
  assert.match(status.lastReload.errors.join('\n'), named);
  assert.equal(status.configHash, before.configHash);
  assert.deepEqual(status.backends.map((b) => b.url), [b1!.url]);
  await waitFor(() => /reload failed \(SIGHUP\), keeping the running config/.test(out) && out.includes(`${file}:1:1: permission denied`), {
    what: 'the failure in the daemon log',
  });
  const r = await request(`http://127.0.0.1:${port}/`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'b1\n');
  t.diagnostic(`as uid ${NOBODY} (the test runs as root): ${status.lastReload.errors[0]}`);
  child.kill('SIGTERM');
  assert.equal((await exited(child)).code, 0, out);
});
