/**
 * `npx tsx examples/bench/reload-stall.ts [N]`: the longest event-loop stall
 * while a daemon with N backends (default 10,000) starts and reloads. The
 * backends are ports on 127.0.0.1 where nothing listens (every probe is a
 * refused connect, answered at once), so the figure is yalb's own work:
 * validating, building the pool and strategy, probing, committing.
 * Each reload changes every backend's weight, so nothing is skipped as
 * unchanged. Bounded: three reloads, then stop.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { createDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';

const N = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-stall-'));
const file = path.join(dir, 'lb.yaml');
const config = (weight: number) => `listen: 127.0.0.1:0\nstrategy: weighted-round-robin\nbackends:\n${
  Array.from({ length: N }, (_, i) => `  - { url: "http://127.0.${1 + Math.floor(i / 40000)}.1:${20000 + (i % 40000)}", weight: ${weight + (i % 3)} }\n`).join('')}`;
writeFileSync(file, config(1));
const log = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
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
await daemon.stop();
h.disable();
rmSync(dir, { recursive: true, force: true });
