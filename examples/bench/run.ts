/**
 * `npm run bench`: throughput of yalb next to direct-to-backend and a bare
 * http-proxy-3 round-robin script, measured side by side in one run and
 * reported as ratios (absolute req/s drift on a shared machine; ratios from
 * the same run hold). Three Node backends run in their own process; each
 * target runs in its own process, pinned to core 0 when `taskset` exists,
 * with the load generator and backends on core 1. Load: wrk (`-t1 -c50`,
 * keep-alive) when installed, else a bounded Node keep-alive loop. Every
 * run is bounded in time; all traffic stays on 127.0.0.1.
 *
 * Options (env): BENCH_SECONDS (default 5), BENCH_ROUNDS (default 4),
 * BENCH_CONNECTIONS (default 50).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli.js');
const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const PIN = has('taskset') && os.availableParallelism() >= 2;
const WRK = has('wrk');

function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

const children: ChildProcess[] = [];
function start(core: number, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const [cmd, argv] = pinned(core, process.execPath, args);
  const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.push(c);
  return c;
}
function stopAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

async function waitHttp(url: string, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => http.get(url, (res) => { res.resume(); r(res.statusCode === 200); }).on('error', () => r(false)));
    if (ok) return;
    if (Date.now() > end) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const BACKENDS_SRC = `
const http = require('node:http');
const ports = JSON.parse(process.argv[1]);
for (const port of ports) http.createServer((q, s) => { s.writeHead(200, {'content-type':'text/plain'}); s.end('hello\\n'); }).listen(port, '127.0.0.1');
`;

const BARE_SRC = `
const http = require('node:http');
const { createProxyServer } = require(${JSON.stringify(path.join(ROOT, 'node_modules/http-proxy-3'))});
const [port, ...targets] = JSON.parse(process.argv[1]);
const agents = targets.map(() => new http.Agent({ keepAlive: true, timeout: 30000, maxSockets: 256 }));
const proxy = createProxyServer({});
proxy.on('error', (e, q, s) => { try { s.writeHead(502); s.end(); } catch {} });
let i = 0;
http.createServer((q, s) => { const k = i++ % targets.length; proxy.web(q, s, { target: targets[k], agent: agents[k] }); }).listen(port, '127.0.0.1');
`;

interface Sample { rps: number; p50: number; p99: number; errors: number }

function parseWrk(out: string): Sample {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const lat = (p: string) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50: lat('50'), p99: lat('99'), errors };
}

async function nodeLoad(url: string): Promise<Sample> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const end = Date.now() + SECONDS * 1000;
  const lat: number[] = [];
  let errors = 0;
  const one = () => new Promise<void>((r) => {
    const t0 = performance.now();
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode !== 200) errors++; lat.push(performance.now() - t0); r(); });
    }).on('error', () => { errors++; r(); });
  });
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => { while (Date.now() < end) await one(); }));
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { rps: lat.length / SECONDS, p50: lat[Math.floor(lat.length * 0.5)] ?? NaN, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, errors };
}

function load(url: string): Promise<Sample> {
  if (!WRK) return nodeLoad(url);
  const [cmd, args] = PIN ? ['taskset', ['-c', '1', 'wrk']] : ['wrk', [] as string[]];
  return new Promise((resolve, reject) => {
    const c = spawn(cmd as string, [...(args as string[]), '-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.on('exit', (code) => (code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk exited ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const base = 21_000 + Math.floor(Math.random() * 20_000);
  const backendPorts = [base, base + 1, base + 2];
  const targets = backendPorts.map((p) => `http://127.0.0.1:${p}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-bench-'));
  try {
    start(1, ['-e', BACKENDS_SRC, JSON.stringify(backendPorts)]);
    await Promise.all(targets.map((t) => waitHttp(t)));

    const yalbPort = base + 10;
    const yalbLogPort = base + 11;
    const barePort = base + 12;
    const cfg = (port: number, extra = '') => `listen: 127.0.0.1:${port}\nbackends:\n${targets.map((t) => `  - url: ${t}\n`).join('')}passive:\n  consecutiveFailures: 0\n${extra}`;
    writeFileSync(path.join(dir, 'lb.yaml'), cfg(yalbPort));
    writeFileSync(path.join(dir, 'lb-log.yaml'), cfg(yalbLogPort, `accessLog:\n  path: ${path.join(dir, 'access.log')}\n  format: json\n`));
    start(0, [CLI, 'start', '-c', path.join(dir, 'lb.yaml')]);
    start(0, [CLI, 'start', '-c', path.join(dir, 'lb-log.yaml')]);
    start(0, ['-e', BARE_SRC, JSON.stringify([barePort, ...targets])]);
    const runs: Array<[string, string]> = [
      ['direct (1 backend)', `${targets[0]}/`],
      ['bare http-proxy-3 script', `http://127.0.0.1:${barePort}/`],
      ['yalb', `http://127.0.0.1:${yalbPort}/`],
      ['yalb + JSON access log', `http://127.0.0.1:${yalbLogPort}/`],
    ];
    await Promise.all(runs.map(([, u]) => waitHttp(u)));
    console.log(`load: ${WRK ? 'wrk' : 'node loop'} -c${CONNECTIONS} ${SECONDS}s × ${ROUNDS} rounds, interleaved in rotating order; ${PIN ? 'targets pinned to core 0, load + backends to core 1' : 'no pinning'}`);
    for (const [, u] of runs) await load(u); // warm-up round (JIT, pools)
    const samples = new Map<string, Sample[]>(runs.map(([n]) => [n, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round, so no target always runs right after the same one.
      const order = runs.map((_, i) => runs[(i + r) % runs.length]!);
      for (const [n, u] of order) samples.get(n)!.push(await load(u));
    }
    const direct = median(samples.get('direct (1 backend)')!.map((s) => s.rps));
    const bare = median(samples.get('bare http-proxy-3 script')!.map((s) => s.rps));
    const yalb = median(samples.get('yalb')!.map((s) => s.rps));
    console.log('\n| target | req/s median | min–max | p50 ms | p99 ms | errors | ×direct | ×bare http-proxy-3 | ×yalb |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [n] of runs) {
      const s = samples.get(n)!;
      const rps = median(s.map((x) => x.rps));
      const f = (v: number) => v.toFixed(2);
      console.log(`| ${n} | ${Math.round(rps)} | ${Math.round(Math.min(...s.map((x) => x.rps)))}–${Math.round(Math.max(...s.map((x) => x.rps)))} | ${f(median(s.map((x) => x.p50)))} | ${f(median(s.map((x) => x.p99)))} | ${s.reduce((a, x) => a + x.errors, 0)} | ${f(rps / direct)} | ${f(rps / bare)} | ${f(rps / yalb)} |`);
    }
  } finally {
    stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
