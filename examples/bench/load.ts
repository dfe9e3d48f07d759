/**
 * Load for the benchmark, always from core 1 in a process of its own:
 * - closed loop (throughput): wrk `-t1 -cN --latency` when installed, else a
 *   bounded Node keep-alive loop with the same shape (N connections, each
 *   sending its next request when the previous answer has arrived);
 * - open loop (latency at a fixed rate): a small Node paced client, since
 *   wrk2 / `wrk -R` are not available: it sends on a fixed schedule
 *   (default 1,000 req/s) over keep-alive connections whatever the answers
 *   do, and reports p50 / p99 from send to last byte.
 * Every client stops by itself and is killed if it overruns its bound.
 */
import { PIN, runToEnd } from './procs.js';

/** Sample is one closed-loop run. Latencies in ms. */
export interface Sample { rps: number; p50: number; p99: number; errors: number }

/** PacedSample is one open-loop run. Latencies in ms. */
export interface PacedSample { rate: number; p50: number; p99: number; errors: number; requests: number }

/** LoadGenerator names what drives the closed-loop runs. */
export type LoadGenerator = 'wrk' | 'node';

/** parseWrk reads wrk's --latency report. */
export function parseWrk(out: string): Sample {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const lat = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)\\b`).exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50: lat('50'), p99: lat('99'), errors };
}

/** CLOSED_LOOP_SRC is the Node fallback for wrk: argv[1] = {url, connections, seconds}. */
const CLOSED_LOOP_SRC = String.raw`
const http = require('node:http');
const o = JSON.parse(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
const lat = [];
let errors = 0;
const t0 = performance.now();
const end = t0 + o.seconds * 1000;
const one = () => new Promise((resolve) => {
  const start = performance.now();
  let done = false;
  const fin = (ok) => { if (done) return; done = true; if (ok) lat.push(performance.now() - start); else errors++; resolve(); };
  const req = http.get(o.url, { agent }, (res) => {
    res.resume();
    res.on('end', () => fin(res.statusCode === 200));
    res.on('error', () => fin(false));
  });
  req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  req.on('error', () => fin(false));
});
Promise.all(Array.from({ length: o.connections }, async () => { while (performance.now() < end) await one(); })).then(() => {
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : null;
  process.stdout.write(JSON.stringify({ rps: lat.length / secs, p50: q(0.5), p99: q(0.99), errors }));
  agent.destroy();
  process.exit(0);
});
`;

/**
 * PACED_SRC is the open-loop client: argv[1] = {url, rate, seconds, warmup,
 * connections}. Request i is due at t0 + i/rate; a 1 ms timer sends every
 * request that is due, so the schedule never waits for answers (requests
 * queue in the agent when all connections are busy, and that wait counts).
 * Answers to the first `warmup` seconds of requests are not counted.
 */
const PACED_SRC = String.raw`
const http = require('node:http');
const o = JSON.parse(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections });
const interval = 1000 / o.rate;
const skip = Math.round(o.warmup * o.rate);
const total = skip + Math.round(o.seconds * o.rate);
const lat = [];
let errors = 0, done = 0, sent = 0, firstMeasured = 0, lastSent = 0;
const t0 = performance.now();
function fire(i) {
  const start = performance.now();
  if (i === skip) firstMeasured = start;
  lastSent = start;
  let finished = false;
  const fin = (ok) => {
    if (finished) return;
    finished = true;
    done++;
    if (i < skip) return;
    if (ok) lat.push(performance.now() - start); else errors++;
  };
  const req = http.get(o.url, { agent }, (res) => {
    res.resume();
    res.on('end', () => fin(res.statusCode === 200));
    res.on('error', () => fin(false));
  });
  req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  req.on('error', () => fin(false));
}
let deadline = 0;
function tick() {
  const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
  while (sent < due) fire(sent++);
  if (sent < total) setTimeout(tick, 1);
  else { deadline = performance.now() + 6000; drain(); }
}
function drain() {
  if (done < total && performance.now() < deadline) { setTimeout(drain, 10); return; }
  lat.sort((a, b) => a - b);
  const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : null;
  const measured = total - skip;
  const rate = measured > 1 && lastSent > firstMeasured ? (measured - 1) / ((lastSent - firstMeasured) / 1000) : 0;
  process.stdout.write(JSON.stringify({ rate, p50: q(0.5), p99: q(0.99), errors: errors + (total - done), requests: lat.length }));
  agent.destroy();
  process.exit(0);
}
tick();
`;

const num = (v: unknown) => (typeof v === 'number' ? v : NaN);

/** closedLoop runs one throughput measurement against `url`. */
export async function closedLoop(gen: LoadGenerator, url: string, connections: number, seconds: number): Promise<Sample> {
  const bound = (seconds + 20) * 1000;
  if (gen === 'wrk') {
    // wrk's own -t1 event loop; --timeout so a stuck answer counts as an error.
    const out = await runToEnd('wrk', 1, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '--latency', url], bound);
    return parseWrk(out);
  }
  const out = await runToEnd('node load loop', 1, process.execPath, ['-e', CLOSED_LOOP_SRC, JSON.stringify({ url, connections, seconds })], bound);
  const r = JSON.parse(out) as Record<string, unknown>;
  return { rps: num(r.rps), p50: num(r.p50), p99: num(r.p99), errors: num(r.errors) };
}

/** paced runs one open-loop latency measurement at `rate` req/s against `url`. */
export async function paced(url: string, rate: number, seconds: number, warmup: number, connections: number): Promise<PacedSample> {
  const out = await runToEnd('paced client', 1, process.execPath, ['-e', PACED_SRC, JSON.stringify({ url, rate, seconds, warmup, connections })], (seconds + warmup + 20) * 1000);
  const r = JSON.parse(out) as Record<string, unknown>;
  return { rate: num(r.rate), p50: num(r.p50), p99: num(r.p99), errors: num(r.errors), requests: num(r.requests) };
}

/** describe says which load generators this run uses, for the report. */
export function describe(gen: LoadGenerator, connections: number, wrkInstalled: boolean): string {
  const where = PIN ? ', on core 1' : '';
  return gen === 'wrk'
    ? `wrk -t1 -c${connections} (keep-alive)${where}`
    : `Node keep-alive loop, ${connections} connections (${wrkInstalled ? '--load node' : 'wrk not found'})${where}`;
}
