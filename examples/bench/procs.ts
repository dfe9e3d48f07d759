/**
 * Process plumbing for the benchmark: every child is started in its own
 * process group (its PID is the group id), optionally pinned to one core
 * with taskset (which execs, so the PID is the program's own), tracked, and
 * stopped by PID: SIGTERM to its group, SIGKILL after a grace period, and a
 * synchronous SIGKILL of every group still alive when the bench exits (on
 * success, error or a signal). Also: free loopback ports, HTTP readiness
 * with a deadline, and RSS sampling from /proc/PID/status.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';

/** has tells whether a command is on PATH. */
export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** PIN: targets go to core 0, load generators and backends to core 1. */
export const PIN = has('taskset') && os.availableParallelism() >= 2;

/** Core is where a process runs: 0 = the proxy under test, 1 = load and backends, 'all' = unpinned (yalb with workers). */
export type Core = 0 | 1 | 'all';

/** Proc is one started child. */
export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** exited resolves once the process has exited. */
  exited: Promise<void>;
}

const live = new Set<Proc>();

function pinned(core: Core, cmd: string, args: string[]): [string, string[]] {
  return PIN && core !== 'all' ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

function track(name: string, child: ChildProcess): Proc {
  if (child.pid === undefined) throw new Error(`${name}: could not start`);
  const p: Proc = { name, pid: child.pid, child, exited: new Promise((r) => child.once('exit', () => r())) };
  if (child.exitCode === null && child.signalCode === null) live.add(p);
  child.once('exit', () => live.delete(p));
  child.on('error', () => {}); // reported through exit / readiness
  return p;
}

/** launch starts a long-lived child with stdout and stderr appended to `log`. */
export function launch(name: string, core: Core, cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): Proc {
  const [c, a] = pinned(core, cmd, args);
  const fd = openSync(log, 'a');
  try {
    return track(name, spawn(c, a, { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...env } }));
  } finally {
    closeSync(fd);
  }
}

/**
 * runToEnd runs a short child to completion and returns its stdout; it is
 * killed (and the promise rejected) after `timeoutMs`.
 */
export function runToEnd(name: string, core: Core, cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const [c, a] = pinned(core, cmd, args);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let p: Proc;
    try {
      p = track(name, child);
    } catch (e) {
      reject(e as Error);
      return;
    }
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const timer = setTimeout(() => {
      killGroup(p.pid, 'SIGKILL');
      reject(new Error(`${name} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${name} exited ${code}: ${(err.trim() || out.trim()).slice(-300)}`));
    });
  });
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch { /* already gone */ }
  }
}

/** stop ends one child by PID: SIGTERM to its group, SIGKILL after `graceMs`. */
export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  if (!live.has(p)) {
    killGroup(p.pid, 'SIGKILL'); // leftovers of its group (an nginx worker), if any
    return;
  }
  killGroup(p.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.exited, new Promise<void>((r) => { timer = setTimeout(r, graceMs); })]);
  clearTimeout(timer);
  killGroup(p.pid, 'SIGKILL');
  await Promise.race([p.exited, new Promise<void>((r) => { timer = setTimeout(r, 1000); })]);
  clearTimeout(timer);
}

/** stopAllNow SIGKILLs every tracked child's group; safe in an 'exit' handler. */
export function stopAllNow(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
  live.clear();
}

/** freePort asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** get fetches a URL once (no keep-alive), with a 2 s timeout. */
export function get(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** waitHttp polls until the URL answers 200, the process exits, or the deadline passes. */
export async function waitHttp(url: string, p?: Proc, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const status = await get(url).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (p && !live.has(p)) throw new Error(`${p.name} exited before ${url} answered`);
    if (Date.now() > end) throw new Error(`${url} did not answer 200 within ${deadlineMs / 1000} s (last status ${status || 'none'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** childrenOf lists a process's direct children (an nginx master's workers). */
export function childrenOf(pid: number): number[] {
  const f = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(f)) {
    try {
      return readFileSync(f, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch { /* fall through */ }
  }
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/** memKiB reads VmRSS and VmHWM (KiB) of one process; zeros when it is gone. */
export function memKiB(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0), hwm: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * RssPeak follows the peak memory of a set of processes (summed): it
 * samples VmRSS and VmHWM every `everyMs` while running and keeps the
 * highest sum seen.
 */
export class RssPeak {
  peakKiB = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pids: () => number[];
  private readonly everyMs: number;
  constructor(pids: () => number[], everyMs = 200) {
    this.pids = pids;
    this.everyMs = everyMs;
  }
  sample(): void {
    let rss = 0;
    let hwm = 0;
    for (const pid of this.pids()) {
      const m = memKiB(pid);
      rss += m.rss;
      hwm += m.hwm;
    }
    this.peakKiB = Math.max(this.peakKiB, rss, hwm);
  }
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }
}
