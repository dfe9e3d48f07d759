/**
 * CPU time a yalb process spends per proxied request, for two builds side
 * by side: `tsx examples/bench/cpu-per-request.ts OTHER/dist/cli.js
 * [requests] [rounds]`. CPU time (utime + stime from /proc/PID/stat) does
 * not depend on what else the machine runs, where req/s on a shared,
 * loaded machine does: this is the figure to compare a change on the
 * request path by. Each build runs its defaults plus the admin API (engine
 * undici), one backend on 127.0.0.1, N keep-alive requests from 20
 * connections per round, rounds interleaved; the median and the minimum
 * per build are reported (on a busy machine the minimum is the steadier). Linux only (/proc). Run it under `flock /tmp/bench.lock`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [other, nArg, roundsArg] = process.argv.slice(2);
if (!other) {
  console.error('usage: tsx examples/bench/cpu-per-request.ts OTHER_BUILD/dist/cli.js [requests=20000] [rounds=5]');
  process.exit(2);
}
const N = Number(nArg ?? 20_000);
const ROUNDS = Number(roundsArg ?? 5);
const THIS = path.resolve(import.meta.dirname, '../../dist/cli.js');
const TICK = 100; // USER_HZ on Linux: /proc/PID/stat times are in 1/100 s

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / TICK; // utime, stime
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function waitUp(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => http.get(url, (res) => { res.resume(); r(res.statusCode === 200); }).on('error', () => r(false)));
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** load sends n GETs over `conns` keep-alive connections and resolves when all have answered. */
async function load(url: string, n: number, conns = 20): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  let sent = 0;
  const one = (): Promise<void> => new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
  await Promise.all(Array.from({ length: conns }, async () => {
    while (sent < n) {
      sent++;
      await one();
    }
  }));
  agent.destroy();
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-cpu-'));
const children: ChildProcess[] = [];
// CPU_BENCH_BYTES: the size of each answer (default 6 bytes; e.g. 65536 for the 64 KiB workload).
const answer = process.env.CPU_BENCH_BYTES ? Buffer.alloc(Number(process.env.CPU_BENCH_BYTES), 'x') : Buffer.from('hello\n');
const backend = http.createServer((_req, res) => res.end(answer));
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

try {
  const builds = [{ name: 'this build', cli: THIS }, { name: other, cli: path.resolve(other) }];
  const targets = [];
  for (const [i, b] of builds.entries()) {
    const port = await freePort();
    const adminPort = await freePort();
    const cfg = path.join(dir, `lb${i}.yaml`);
    // CPU_BENCH_YAML: more lb.yaml lines for both builds (e.g. an access log), "{dir}" = the temp dir.
    const extra = (process.env.CPU_BENCH_YAML ?? '').replaceAll('{dir}', dir);
    writeFileSync(cfg, `listen: 127.0.0.1:${port}\nengine: undici\nbackends:\n  - url: ${backendUrl}\nadmin:\n  listen: 127.0.0.1:${adminPort}\n${extra ? `${extra}\n` : ''}`);
    const child = spawn(process.execPath, [b.cli, 'start', '-c', cfg, '--pid-file', path.join(dir, `yalb${i}.pid`)], { stdio: 'ignore' });
    children.push(child);
    const url = `http://127.0.0.1:${port}/`;
    await waitUp(url);
    await load(url, 2000); // warm-up (JIT)
    targets.push({ ...b, url, pid: child.pid as number, samples: [] as number[] });
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
      const before = cpuSeconds(t.pid);
      await load(t.url, N);
      t.samples.push(((cpuSeconds(t.pid) - before) / N) * 1e6);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(`CPU µs per request (yalb process, engine undici, ${N} keep-alive GETs × ${ROUNDS} rounds, interleaved):`);
  for (const t of targets) console.log(`  ${t.name}: median ${median(t.samples).toFixed(1)} µs, min ${Math.min(...t.samples).toFixed(1)} µs (rounds: ${t.samples.map((s) => s.toFixed(1)).join(', ')})`);
  const [a, b] = targets.map((t) => median(t.samples)) as [number, number];
  console.log(`  ratio this / other: ${(a / b).toFixed(3)}`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  backend.close();
  rmSync(dir, { recursive: true, force: true });
}
