/**
 * What the dashboard costs the daemon: yalb's process CPU time per second
 * at about 1,000 req/s with the dashboard page open in headless Chromium
 * compared with no page open, measured side by side in one run (rounds
 * alternate: none, page, none, page), and the page's size in bytes.
 *
 *   npm run build && flock /tmp/bench.lock npx tsx examples/bench/dashboard-cpu.ts [--seconds 15] [--rate 1000] [--rounds 2]
 *
 * (--rate 0: no traffic, the page's own cost alone.)
 *
 * yalb runs in its own process (pinned to core 0 when taskset exists) with
 * three Node backends and the admin API; a paced open-loop client (the one
 * `npm run bench` uses) sends the load. CPU time is utime + stime of yalb's
 * process from /proc/PID/stat over each round. The page is the real one,
 * polling once a second (/status, /api/series, /api/history with
 * If-None-Match). Needs /usr/bin/chromium (Debian's chromium package) and
 * the devDependency playwright-core; all traffic stays on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { paced } from './load.js';
import { freePort, launch, stop, stopAllNow, waitHttp } from './procs.js';
import { startNodeBackends } from './targets.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '15' }, rate: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '2' } } });
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const ROUNDS = Number(values.rounds);
const CLK_TCK = 100; // Linux USER_HZ

/** cpuMs is a process's CPU time so far (user + system), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-dash-bench-'));
  const backends = await startNodeBackends(dir);
  const port = await freePort();
  const adminPort = await freePort();
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, `listen: 127.0.0.1:${port}\nadmin:\n  listen: 127.0.0.1:${adminPort}\nlog:\n  level: warn\nbackends:\n${backends.urls.map((u) => `  - url: ${u}\n`).join('')}`);
  const cli = path.resolve(import.meta.dirname, '../../dist/cli.js');
  const yalb = launch('yalb', 0, process.execPath, [cli, 'start', '-c', file], path.join(dir, 'yalb.log'));
  const url = `http://127.0.0.1:${port}/`;
  const admin = `http://127.0.0.1:${adminPort}/`;
  await waitHttp(url, yalb);
  const page = await fetch(admin);
  const html = Buffer.from(await page.arrayBuffer());
  const profile = mkdtempSync(path.join(os.tmpdir(), 'yalb-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const results: Record<'none' | 'page', number[]> = { none: [], page: [] };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['none', 'page'] as const) {
        const tab = mode === 'page' ? await browser.newPage() : undefined;
        if (tab) {
          await tab.goto(admin);
          await tab.waitForSelector('#pools tr[data-url]', { timeout: 10_000 });
        }
        const c0 = cpuMs(yalb.pid);
        const t0 = performance.now();
        // --rate 0: no load at all, to see the page's own cost alone.
        const s = RATE > 0 ? await paced(url, RATE, SECONDS, 2, 8) : await new Promise<{ rate: number; p99: number; errors: number }>((r) => setTimeout(() => r({ rate: 0, p99: 0, errors: 0 }), SECONDS * 1000));
        const perSec = (cpuMs(yalb.pid) - c0) / ((performance.now() - t0) / 1000);
        await tab?.close();
        results[mode].push(perSec);
        console.log(`round ${r + 1} ${mode === 'page' ? 'page open' : 'no page  '}: ${s.rate.toFixed(0)} req/s, p99 ${s.p99?.toFixed(2)} ms, errors ${s.errors}; yalb CPU ${perSec.toFixed(1)} ms/s`);
      }
    }
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await stop(yalb);
    await backends.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`\npage: ${html.length} bytes (${gzipSync(html).length} gzipped; served uncompressed)`);
  console.log(`yalb CPU at ~${RATE} req/s: no page ${mean(results.none).toFixed(1)} ms/s, page open ${mean(results.page).toFixed(1)} ms/s (×${(mean(results.page) / mean(results.none)).toFixed(3)})`);
}

main().catch((err: unknown) => {
  console.error(err);
  stopAllNow();
  process.exitCode = 1;
});
