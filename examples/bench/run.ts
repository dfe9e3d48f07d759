/**
 * `npm run bench`: yalb next to direct-to-backend, a bare http-proxy-3
 * round robin (the baseline), @fastify/http-proxy and, when installed,
 * nginx, measured side by side in one run and reported as ratios against the
 * baseline of the same run (absolute req/s drift on a shared machine; ratios
 * from one run hold).
 *
 * Setup: three backends in their own processes (Node: `/` answers 6 bytes,
 * `/64k` 64 KiB; nginx ones as well when nginx is installed). Each target is
 * its own process, pinned to core 0 when `taskset` exists; load, backends and
 * this script run on core 1. yalb runs its defaults plus an HTTP health
 * check (default interval) and the admin API (/status, /metrics) on a free
 * loopback port, access log off; one more yalb writes a JSON access log to a
 * file. When the built yalb accepts `engine:`, yalb is measured once per
 * engine (`engine: undici`, `engine: http-proxy-3`).
 *
 * Per workload the backends and targets are started fresh, answer-checked,
 * warmed up, then loaded in ROUNDS rounds, the order rotated every round so
 * no target always follows the same one. Closed loop: wrk `-t1 -cN` (keep-alive) when
 * installed, else a Node keep-alive loop. Then one open-loop run per target
 * at a fixed rate (default 1,000 req/s) with a Node paced client, for the
 * latency a proxy adds at moderate load. RSS is the target's peak (VmRSS /
 * VmHWM sampled from /proc while it is loaded; nginx: master + worker).
 *
 * Everything started is stopped by PID on exit, on error and on SIGINT;
 * every wait is bounded and a watchdog ends an overrunning run. All traffic
 * stays on 127.0.0.1. `--help` lists the options.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, describe, paced, type LoadGenerator, type PacedSample, type Sample } from './load.js';
import { PIN, RssPeak, get, has, stopAllNow } from './procs.js';
import {
  BASELINE_ID, BIG_BYTES, DIRECT_ID, SMALL_BODY, nginxBinary, startNginxBackends, startNodeBackends, targetDefs, yalbKnowsEngine,
  type BackendSet, type Running, type TargetDef,
} from './targets.js';
import { runTlsWorkload, tlsWorkloadMissing } from './tls.js';

const USAGE = `Usage: npm run bench [-- OPTIONS]   (each option also as an environment variable)

  --seconds N        closed-loop run length, s              BENCH_SECONDS      (default 2)
  --rounds N         interleaved rounds per workload        BENCH_ROUNDS       (default 3)
  --connections N    concurrent keep-alive connections      BENCH_CONNECTIONS  (default 50)
  --warmup N         warm-up per target and workload, s     BENCH_WARMUP       (default 1)
  --rate N           fixed-rate run: req/s (0 = skip)       BENCH_RATE         (default 1000)
  --fixed-seconds N  fixed-rate run length, s               BENCH_FIXED_SECONDS (default 2)
  --workloads LIST   small,64k,nginx-small,tls              BENCH_WORKLOADS    (default all that can run)
                     tls: yalb HTTPS vs yalb plain (needs wrk and openssl)
  --targets LIST     ids or parts of ids to run; direct     BENCH_TARGETS      (default all)
                     and baseline always run (the ratios need them):
                     direct, baseline, yalb-undici, yalb-routes, yalb-http-proxy-3 (or yalb), yalb-workers-2, yalb-log, fastify, nginx
  --load wrk|node    closed-loop load generator             BENCH_LOAD         (default wrk when installed)
  --no-nginx         leave nginx out even when installed    BENCH_NGINX=0
  (env only)         yalb-workers-2 on every core instead of the proxy's one  BENCH_WORKERS_CORE=all
  (env only)         another build measured beside this one (yalb-undici-compare)  BENCH_COMPARE_CLI=PATH/dist/cli.js
  --keep             keep the temp dir (configs, every log) BENCH_KEEP=1
  -h, --help         show this help`;

interface Options {
  seconds: number;
  rounds: number;
  connections: number;
  warmup: number;
  rate: number;
  fixedSeconds: number;
  workloads: string[] | undefined;
  targets: string[] | undefined;
  load: LoadGenerator;
  nginx: boolean;
  keep: boolean;
}

/** FIXED_WARMUP is the start of each fixed-rate run that is sent but not counted, s. */
const FIXED_WARMUP = 0.25; // the targets are warm already; this only opens connections

function options(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      seconds: { type: 'string' }, rounds: { type: 'string' }, connections: { type: 'string' }, warmup: { type: 'string' },
      rate: { type: 'string' }, 'fixed-seconds': { type: 'string' }, workloads: { type: 'string' }, targets: { type: 'string' },
      load: { type: 'string' }, 'no-nginx': { type: 'boolean' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const num = (name: string, raw: string | undefined, def: number, min: number, max: number): number => {
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name}: expected a number from ${min} to ${max}, got "${raw}"`);
    return n;
  };
  const list = (raw: string | undefined) => (raw ? raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) : undefined);
  const load = values.load ?? env.BENCH_LOAD ?? (has('wrk') ? 'wrk' : 'node');
  if (load !== 'wrk' && load !== 'node') throw new Error(`--load: expected wrk or node, got "${load}"`);
  if (load === 'wrk' && !has('wrk')) throw new Error('--load wrk: wrk is not on PATH');
  return {
    seconds: Math.round(num('--seconds', values.seconds ?? env.BENCH_SECONDS, 2, 1, 60)),
    rounds: Math.round(num('--rounds', values.rounds ?? env.BENCH_ROUNDS, 3, 1, 20)),
    connections: Math.round(num('--connections', values.connections ?? env.BENCH_CONNECTIONS, 50, 1, 1000)),
    warmup: Math.round(num('--warmup', values.warmup ?? env.BENCH_WARMUP, 1, 0, 30)),
    rate: Math.round(num('--rate', values.rate ?? env.BENCH_RATE, 1000, 0, 20_000)),
    fixedSeconds: num('--fixed-seconds', values['fixed-seconds'] ?? env.BENCH_FIXED_SECONDS, 2, 0.5, 60),
    workloads: list(values.workloads ?? env.BENCH_WORKLOADS),
    targets: list(values.targets ?? env.BENCH_TARGETS),
    load,
    nginx: !values['no-nginx'] && env.BENCH_NGINX !== '0',
    keep: values.keep === true || env.BENCH_KEEP === '1',
  };
}

interface Workload { id: string; title: string; backends: 'node' | 'nginx'; path: string; bytes: number }
const WORKLOADS: Workload[] = [
  { id: 'small', title: `Small body (\`GET /\`, ${SMALL_BODY.length} B) from three Node backends`, backends: 'node', path: '/', bytes: SMALL_BODY.length },
  { id: '64k', title: '64 KiB body (`GET /64k`) from three Node backends', backends: 'node', path: '/64k', bytes: BIG_BYTES },
  { id: 'nginx-small', title: `Small body (\`GET /\`, ${SMALL_BODY.length} B) from three nginx backends`, backends: 'nginx', path: '/', bytes: SMALL_BODY.length },
];

/** Result is one target's measurements in one workload. */
interface Result {
  def: TargetDef;
  running?: Running | undefined;
  samples: Sample[];
  fixed?: PacedSample | undefined;
  rss?: RssPeak | undefined;
  failed?: string | undefined;
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rotate = <T>(xs: T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);
/** loadavg tells how busy the machine is (others run too): load averages and, when the kernel has PSI, CPU pressure. */
const loadavg = (): string => {
  let psi = '';
  try {
    const m = /^some avg10=([\d.]+) avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (m) psi = `; CPU pressure (some) ${m[1]} % over 10 s, ${m[2]} % over 60 s`;
  } catch { /* no PSI */ }
  return `${os.loadavg().map((x) => x.toFixed(2)).join(' ')}${psi}`;
};
const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function runWorkload(wl: Workload, backends: BackendSet, defs: TargetDef[], o: Options, dir: string): Promise<Result[]> {
  const results: Result[] = defs.map((def) => ({ def, samples: [] }));
  const started = await Promise.allSettled(defs.map((d) => d.start(backends, dir)));
  started.forEach((s, i) => {
    const r = results[i]!;
    if (s.status === 'fulfilled') {
      r.running = s.value;
      r.rss = new RssPeak(s.value.pids);
    } else r.failed = `did not start: ${msg(s.reason)}`;
  });
  try {
    // Every target must answer this workload's path with the whole body.
    for (const r of results) {
      if (!r.running) continue;
      const a = await get(`${r.running.url}${wl.path}`).catch((e: unknown) => ({ status: 0, bytes: 0, error: msg(e) }));
      if (a.status !== 200 || a.bytes !== wl.bytes) r.failed = `answered ${a.status} with ${a.bytes} bytes (expected 200, ${wl.bytes})`;
    }
    for (const id of [DIRECT_ID, BASELINE_ID]) {
      const r = results.find((x) => x.def.id === id)!;
      if (r.failed) throw new Error(`${r.def.name}: ${r.failed}`);
    }
    const active = () => results.filter((r) => r.running && !r.failed);
    const measure = async <T>(r: Result, fn: () => Promise<T>): Promise<T | undefined> => {
      r.rss!.start();
      try {
        return await fn();
      } catch (e) {
        r.failed = msg(e);
        return undefined;
      } finally {
        r.rss!.stop();
      }
    };
    if (o.warmup > 0) {
      for (const r of active()) await measure(r, () => closedLoop(o.load, `${r.running!.url}${wl.path}`, o.connections, o.warmup));
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const r of rotate(active(), round)) {
        const s = await measure(r, () => closedLoop(o.load, `${r.running!.url}${wl.path}`, o.connections, o.seconds));
        if (s) r.samples.push(s);
      }
    }
    if (o.rate > 0) {
      for (const r of rotate(active(), o.rounds)) {
        r.fixed = await measure(r, () => paced(`${r.running!.url}${wl.path}`, o.rate, o.fixedSeconds, FIXED_WARMUP, o.connections));
      }
    }
  } finally {
    await Promise.all(results.map((r) => r.running?.stop()));
  }
  return results;
}

const fmt = {
  int: (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–'),
  ms: (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–'),
  x: (v: number) => (Number.isFinite(v) && v > 0 ? `${v.toFixed(2)}×` : '–'),
  mib: (kib: number) => (kib > 0 ? (kib / 1024).toFixed(1) : '–'),
};

function printTables(wl: Workload, results: Result[], o: Options): void {
  const stat = (r: Result) => ({
    rps: median(r.samples.map((s) => s.rps)),
    min: Math.min(...r.samples.map((s) => s.rps)),
    max: Math.max(...r.samples.map((s) => s.rps)),
    p50: median(r.samples.map((s) => s.p50)),
    p99: median(r.samples.map((s) => s.p99)),
    rss: r.rss?.peakKiB ?? 0,
    errors: r.samples.reduce((a, s) => a + s.errors, 0),
  });
  const base = stat(results.find((r) => r.def.id === BASELINE_ID)!);
  const direct = stat(results.find((r) => r.def.id === DIRECT_ID)!);
  console.log(`\n### ${wl.title}\n`);
  console.log(`Closed loop: ${describe(o.load, o.connections, has('wrk'))}, ${o.rounds} × ${o.seconds} s per target, rounds interleaved. Ratios: against the baseline (bare http-proxy-3) of this run; ×direct for req/s.\n`);
  console.log('| target | req/s (median) | min–max | req/s ×base | ×direct | p50 ms | p50 ×base | p99 ms | p99 ×base | RSS peak MiB | RSS ×base | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes: string[] = [];
  for (const r of results) {
    if (r.samples.length === 0) {
      console.log(`| ${r.def.name} | – | – | – | – | – | – | – | – | – | – | – |`);
      notes.push(`${r.def.name}: ${r.failed ?? 'no sample'}`);
      continue;
    }
    if (r.failed) notes.push(`${r.def.name}: ${r.failed}`);
    const s = stat(r);
    console.log(`| ${r.def.name} | ${fmt.int(s.rps)} | ${fmt.int(s.min)}–${fmt.int(s.max)} | ${fmt.x(s.rps / base.rps)} | ${fmt.x(s.rps / direct.rps)} | ${fmt.ms(s.p50)} | ${fmt.x(s.p50 / base.p50)} | ${fmt.ms(s.p99)} | ${fmt.x(s.p99 / base.p99)} | ${fmt.mib(s.rss)} | ${fmt.x(s.rss / base.rss)} | ${s.errors} |`);
  }
  if (o.rate > 0) {
    const bf = results.find((r) => r.def.id === BASELINE_ID)!.fixed;
    const df = results.find((r) => r.def.id === DIRECT_ID)!.fixed;
    const added = (f: PacedSample | undefined) => (f && df ? f.p50 - df.p50 : NaN);
    console.log(`\nFixed rate: open loop at ${fmt.int(o.rate)} req/s for ${o.fixedSeconds} s (after ${FIXED_WARMUP} s not counted), Node paced client, up to ${o.connections} keep-alive connections. Latency from send to last byte.\n`);
    console.log('| target | sent req/s | p50 ms | p99 ms | p50 added over direct, ms | added ×base | p99 ×base | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of results) {
      const f = r.fixed;
      if (!f) {
        console.log(`| ${r.def.name} | – | – | – | – | – | – | – |`);
        continue;
      }
      const isDirect = r.def.id === DIRECT_ID;
      const a = added(f);
      const baseAdded = added(bf);
      console.log(`| ${r.def.name} | ${fmt.int(f.rate)} | ${fmt.ms(f.p50)} | ${fmt.ms(f.p99)} | ${isDirect ? '(reference)' : `${a >= 0 ? '+' : ''}${fmt.ms(a)}`} | ${isDirect ? '–' : fmt.x(a / baseAdded)} | ${fmt.x(bf ? f.p99 / bf.p99 : NaN)} | ${f.errors} |`);
    }
  }
  if (notes.length) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}`);
}

function estimateSeconds(o: Options, targets: number, workloads: number): number {
  const perRun = 0.15; // load generator start and exit
  const closed = targets * (o.warmup + perRun + o.rounds * (o.seconds + perRun));
  const fixed = o.rate > 0 ? targets * (o.fixedSeconds + FIXED_WARMUP + 0.5) : 0;
  return workloads * (closed + fixed + 4) + 3;
}

async function main(): Promise<void> {
  const o = options();
  const t0 = Date.now();
  const cores = os.availableParallelism(); // before this process is pinned to one core
  // This script only orchestrates; keep it off the proxies' core.
  if (PIN) {
    try {
      execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
    } catch { /* best effort */ }
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-bench-'));
  process.on('exit', () => {
    stopAllNow();
    if (o.keep) console.log(`(kept ${dir}: configs and the log of every process)`);
    else rmSync(dir, { recursive: true, force: true });
  });

  const nginx = o.nginx ? nginxBinary() : undefined;
  const engines = yalbKnowsEngine(dir);
  const all = targetDefs({ engines, nginx });
  const defs = all.filter((d) => d.id === DIRECT_ID || d.id === BASELINE_ID || !o.targets || o.targets.some((t) => d.id.includes(t)));
  const unknownTargets = (o.targets ?? []).filter((t) => !all.some((d) => d.id.includes(t)));
  const possible = WORKLOADS.filter((w) => w.backends === 'node' || nginx);
  const tlsMissing = tlsWorkloadMissing();
  const tlsWanted = !o.workloads || o.workloads.includes('tls');
  const unknownWorkloads = (o.workloads ?? []).filter((w) => w !== 'tls' && !WORKLOADS.some((x) => x.id === w));
  if (unknownWorkloads.length) throw new Error(`--workloads: unknown ${unknownWorkloads.join(', ')} (expected ${WORKLOADS.map((w) => w.id).join(', ')})`);
  const workloads = o.workloads ? possible.filter((w) => o.workloads!.includes(w.id)) : possible;
  if (workloads.length === 0 && !(tlsWanted && !tlsMissing)) throw new Error('no workload to run (nginx-small needs nginx; tls needs wrk and openssl)');
  const skipped = WORKLOADS.filter((w) => !workloads.includes(w) && (!o.workloads || o.workloads.includes(w.id)));

  const tlsSeconds = tlsWanted && !tlsMissing ? 2 * (o.warmup + o.rounds * (o.seconds + 0.2)) + 8 : 0;
  const estimate = estimateSeconds(o, defs.length, workloads.length) + tlsSeconds;
  const watchdog = setTimeout(() => {
    console.error(`\nbench: still running after ${Math.round((Date.now() - t0) / 1000)} s (estimate ${Math.round(estimate)} s); stopping everything`);
    process.exit(1);
  }, (estimate * 2 + 120) * 1000);
  watchdog.unref();

  const nginxVersion = nginx ? spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '') : '';
  console.log(`## yalb benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${cores} cores`);
  console.log(`- load average at start: ${loadavg()}`);
  console.log(`- load generator (req/s): ${describe(o.load, o.connections, has('wrk'))}; fixed-rate latency: Node paced client`);
  console.log(`- pinning: ${PIN ? 'each target on core 0; load generator, backends and this script on core 1' : 'none (taskset missing or < 2 cores)'}`);
  console.log(`- yalb: ${engines ? 'one target per engine (`engine:` accepted)' : 'one target (this build rejects `engine:`)'}; defaults + HTTP health check at the default interval + admin API with /metrics; access log off except in "yalb + JSON access log"`);
  console.log(`- nginx: ${nginx ? `${nginxVersion} (1 worker, upstream keepalive, round robin)` : o.nginx ? 'not installed (no nginx target, no nginx-backend workload)' : 'left out (--no-nginx)'}`);
  console.log(`- targets: ${defs.map((d) => d.id).join(', ')}${unknownTargets.length ? ` (no target matches: ${unknownTargets.join(', ')})` : ''}`);
  console.log(`- workloads: ${[...workloads.map((w) => w.id), ...(tlsWanted && !tlsMissing ? ['tls'] : [])].join(', ')}${tlsWanted && tlsMissing ? ` (no tls: ${tlsMissing})` : ''}${skipped.length ? ` (without nginx: no ${skipped.map((w) => w.id).join(', ')})` : ''}; warm-up ${o.warmup} s per target; estimated ${Math.round(estimate / 60 * 10) / 10} min`);

  // Each workload starts from fresh processes, backends included, so every
  // RSS peak (VmHWM) is that workload's own.
  for (const wl of workloads) {
    const backends = wl.backends === 'nginx' ? await startNginxBackends(nginx!, dir) : await startNodeBackends(dir);
    try {
      printTables(wl, await runWorkload(wl, backends, defs, o, dir), o);
      console.log(`\nMachine at the end of this workload: load ${loadavg()}.`);
    } finally {
      await backends.stop();
    }
  }
  if (tlsWanted && !tlsMissing) {
    await runTlsWorkload(o, dir);
    console.log(`\nMachine at the end of this workload: load ${loadavg()}.`);
  }
  console.log(`\nTotal time: ${Math.round((Date.now() - t0) / 1000)} s; load average at the end: ${loadavg()} (others' work on this machine shows here).`);
}

process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

// process.exit either way: its 'exit' handler stops whatever is still running.
try {
  await main();
  process.exit(0);
} catch (e) {
  console.error(`bench: ${msg(e)}`);
  process.exit(1);
}
