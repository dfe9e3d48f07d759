/**
 * `npx tsx examples/bench/reload-stall.ts [N] [--dist DIR] [--phases]`: the
 * longest event-loop stall while a daemon with N backends (default 10,000)
 * starts and reloads. The backends are ports on 127.0.0.1 where nothing
 * listens (every probe is a refused connect, answered at once), so the
 * figure is yalb's own work: validating, building the pool and strategy,
 * probing, committing. Each reload changes every backend's weight, so
 * nothing is skipped as unchanged. Bounded: three reloads, then stop.
 *
 * --dist DIR runs a built copy (e.g. dist, or /tmp/stall-before for an A/B)
 * instead of src/. --phases also times, after the reloads, the synchronous
 * parts of one reload on their own: config load (parse + validate), the
 * change list, the pool build, and stopping + starting the probe timers.
 * Wrap runs in `flock /tmp/bench.lock …` on a shared machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dist: { type: 'string' },
    phases: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: reload-stall.ts [N=10000] [--dist DIR] [--phases] [--trace]\n'
    + '  --dist DIR  load yalb from a built copy (dist, /tmp/stall-before) instead of src/\n'
    + '  --phases    also time the synchronous phases of one reload on their own\n'
    + '  --trace     print every event-loop gap over 20 ms, and any globalThis.__mark(name) calls, in time order');
  process.exit(0);
}

type Mod = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const root = opts.dist ? path.resolve(opts.dist) : path.resolve(import.meta.dirname, '../../src');
const ext = opts.dist ? '.js' : '.ts';
const load = (p: string): Promise<Mod> => import(pathToFileURL(path.join(root, p + ext)).href) as Promise<Mod>;
const { createDaemon } = await load('daemon/daemon');
const { createLogger } = await load('log/logger');

const N = Number(positionals[0] ?? 10_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-stall-'));
const file = path.join(dir, 'lb.yaml');
const config = (weight: number) => `listen: 127.0.0.1:0\nstrategy: weighted-round-robin\nbackends:\n${
  Array.from({ length: N }, (_, i) => `  - { url: "http://127.0.${1 + Math.floor(i / 40000)}.1:${20000 + (i % 40000)}", weight: ${weight + (i % 3)} }\n`).join('')}`;
writeFileSync(file, config(1));
const log = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
if (opts.trace) {
  // A 2 ms ticker: a gap between two ticks is a stall; __mark lets an instrumented copy name its steps.
  const t0 = performance.now();
  const at = () => `+${(performance.now() - t0).toFixed(0).padStart(6)} ms`;
  (globalThis as { __mark?: (name: string) => void }).__mark = (name) => console.log(`${at()}   mark ${name}`);
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 22) console.log(`${at()}   gap ${(now - last - 2).toFixed(0)} ms`);
    last = now;
  }, 2).unref();
}
let t0 = performance.now();
const daemon = await createDaemon({ configPath: file, log, watch: false, processMetrics: false });
const startMs = performance.now() - t0;
// A stall is recorded when the delayed timer finally fires: give it a moment.
const settle = () => new Promise((r) => setTimeout(r, 50));
await settle();
const startMax = h.max / 1e6;
console.log(`${N} backends: start ${startMs.toFixed(0)} ms, longest event-loop stall ${startMax.toFixed(1)} ms`);
for (let k = 2; k <= 4; k++) {
  writeFileSync(file, config(k));
  h.reset();
  t0 = performance.now();
  const r = await daemon.reload('bench');
  const ms = performance.now() - t0;
  await settle();
  console.log(`reload ${k - 1}: ${r.ok ? 'applied' : `failed: ${r.errors.join('; ')}`} in ${ms.toFixed(0)} ms, longest event-loop stall ${(h.max / 1e6).toFixed(1)} ms`);
}

if (opts.phases) {
  // The same steps a reload takes (reloader.ts, generation.ts), one by one.
  const { loadConfig } = await load('config/load');
  const { configDiff } = await load('reload/diff');
  const { Pool } = await load('pool/pool');
  const { HealthScheduler, healthSettingsFrom } = await load('health/scheduler');
  const { poolDescriptionOf } = await load('reload/generation');
  writeFileSync(file, config(9));
  const cur = daemon.current;
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    h.reset();
    const a = performance.now();
    const v = await f();
    const ms = performance.now() - a;
    await settle();
    console.log(`  phase ${name.padEnd(22)} ${ms.toFixed(1).padStart(7)} ms, longest stall ${(h.max / 1e6).toFixed(1)} ms`);
    return v;
  };
  const loaded = await timed('loadConfig', () => loadConfig(file));
  if (!loaded.ok) throw new Error('phase config did not load');
  await timed('configDiff', () => configDiff(cur.config, loaded.config));
  const pool = await timed('new Pool', () => new Pool(poolDescriptionOf(loaded.config, 99), cur.pool.registry, {}));
  const health = await timed('new HealthScheduler', () => new HealthScheduler(pool.backends, pool, healthSettingsFrom(loaded.config), log));
  await timed('health start + stop', () => { health.start(); health.stop(); });
}

await daemon.stop();
h.disable();
rmSync(dir, { recursive: true, force: true });
