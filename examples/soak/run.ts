/**
 * `npm run soak`: a long run of yalb under steady load while its config is
 * reloaded and its backends die, with every failure accounted for.
 *
 * Setup (all on 127.0.0.1): three Node backends A, B, C, each its own
 * process (examples/soak/backend.ts: GET answers a small body, POST echoes
 * the body, WebSocket upgrades echo messages), and the real daemon
 * `node dist/cli.js start -c <tmp>/lb.yaml` with HTTP health checks every
 * 500 ms and the admin API on.
 *
 * For the duration (default 2 min, after a 5 s warm-up that is loaded and
 * counted too), bounded loops, one request in flight each, paced:
 * - GET loops over a keep-alive agent (answer and body checked, latency kept);
 * - POST loops with 1–8 KiB random bodies (the echo must be byte-identical);
 * - WebSocket echo loops (undici's WebSocket as the client): each
 *   connection learns its backend from the first message, sends 100
 *   messages one at a time and checks each echo, closes, reconnects; a
 *   connection that closes under it is reconnected.
 * Meanwhile lb.yaml is rewritten every 2 s (temp file + rename), alternating
 * between round robin with weights 1 and weighted round robin with weights
 * 3/2/1 (all three backends in both), and every 20 s one backend (A, B, C in
 * turn) is killed with SIGKILL and restarted on its port about 2 s later.
 *
 * A failure is explained only when it is the expected cost of a kill: a POST
 * (not idempotent, so never replayed) whose [start, end] contains a kill
 * time and that got 502 with `x-yalb-error: YALB_ERR_UPSTREAM_RESET`; or a
 * WebSocket that was open on the killed backend at the kill and was closed
 * (the client reconnects). The kill time is known to lie between sending
 * SIGKILL and seeing the backend dead (polled synchronously: a few ms,
 * printed per kill, and no request starts in between), so "contains a kill
 * time" means [start, end] overlaps that interval. Anything else is
 * unexplained: any GET failure, any other POST failure, a WebSocket that
 * could not connect, closed without a kill of its backend, or echoed
 * something else.
 *
 * The yalb process (and any children) is sampled at the start (after the
 * warm-up), the middle and the end: RSS (VmRSS) and open file descriptors,
 * each the median of five readings over a second; no kill is scheduled
 * close before a sample. Targets: 0 unexplained failures; RSS and fds at
 * the end within 10 % of the middle, one-sided: a leak grows, while a
 * smaller end (V8 giving heap back after a GC, fewer pooled connections)
 * is no defect, so only end > middle + 10 % fails. Exit 1 when a target
 * fails.
 *
 * Everything started is stopped by PID in a finally block, on SIGINT too
 * (a second SIGINT exits at once), and a watchdog ends an overrunning run.
 * Wrap long runs in `flock /tmp/bench.lock` on a shared machine.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'undici';
import { childrenOf, freePort, launch, stop, stopAllNow, waitHttp, type Proc } from '../bench/procs.js';

const USAGE = `Usage: npm run soak [-- OPTIONS]

  --duration D   measured run length: 30s, 2m, 1h, or seconds  (default 2m)
  --warmup D     load before the start sample (counted too)      (default 5s)
  --rate N       GET requests per second in all (4 loops); POSTs and
                 WebSocket messages run at an eighth of it each   (default 400)
  --dist DIR     the built yalb to run (DIR/cli.js)              (default dist)
  --keep         keep the temp dir (lb.yaml, every process's log)
  -h, --help     show this help

Exit 0 when every target passes, 1 when one fails or the run breaks.`;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BACKEND = fileURLToPath(new URL('./backend.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

const GET_LOOPS = 4;
const POST_LOOPS = 2;
const WS_LOOPS = 2;
const WS_MESSAGES_PER_CONNECTION = 100;
const REQUEST_TIMEOUT_MS = 10_000;
const RELOAD_EVERY_MS = 2_000;
const KILL_EVERY_MS = 20_000;
const KILL_FIRST_MS = 10_000; // after the start sample
const RESTART_AFTER_MS = 2_000;
const TOLERANCE = 0.10;
const SHOW_REASONS = 5;

function parseDuration(name: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new Error(`${name}: expected a duration like 30s, 2m or 1h, got "${raw}"`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * mult;
}

interface Options { durationMs: number; warmupMs: number; rate: number; dist: string; keep: boolean }

function options(): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      duration: { type: 'string' }, warmup: { type: 'string' }, rate: { type: 'string' }, dist: { type: 'string' },
      keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const durationMs = parseDuration('--duration', values.duration ?? '2m');
  if (durationMs < 10_000) throw new Error('--duration: at least 10s');
  const warmupMs = parseDuration('--warmup', values.warmup ?? '5s');
  const rate = Number(values.rate ?? 400);
  if (!Number.isFinite(rate) || rate < 8 || rate > 20_000) throw new Error(`--rate: expected 8 to 20000, got "${values.rate}"`);
  return { durationMs, warmupMs, rate, dist: path.resolve(ROOT, values.dist ?? 'dist'), keep: values.keep === true };
}

// ---------------------------------------------------------------- accounting

type Kind = 'GET' | 'POST' | 'WS';
interface Failure { kind: Kind; at: number; reason: string; explained: boolean }
/**
 * Kill is one kill -9: `at` when the signal was sent, `exitAt` when the
 * backend was seen dead (a zombie in /proc: its sockets are closed by then),
 * polled synchronously so no request starts in between. The moment of death
 * lies between the two; that interval is "the kill time".
 */
interface Kill { backend: string; at: number; exitAt: number; restartedAt?: number }

const now = () => performance.now();
let T0 = 0; // load start (performance.now)
let WALL0 = 0; // Date.now() at T0
const rel = (t: number) => `${((t - T0) / 1000).toFixed(2)} s`;
/** clock is a moment as UTC time of day, to find it in yalb's log. */
const clock = (t: number) => new Date(WALL0 + (t - T0)).toISOString().slice(11, 23);
const kills: Kill[] = [];
const failures: Failure[] = [];
const done = { GET: 0, POST: 0, WS: 0 };
const ok = { GET: 0, POST: 0, WS: 0 };
const ws = { connects: 0, cleanCloses: 0 };
const getLatencies: number[] = [];
const abort = new AbortController();
setMaxListeners(100, abort.signal); // every paced loop sleeps on it
let interrupted = false;

/** killNote says where a moment stands against the nearest kill. */
/** inFlightAtKill tells whether [start, end] overlaps a kill (of `backend`, when given). */
const inFlightAtKill = (start: number, end: number, backend?: string) =>
  kills.some((k) => (backend === undefined || k.backend === backend) && start <= k.exitAt && end >= k.at);

function killNote(t: number): string {
  let best: Kill | undefined;
  for (const k of kills) if (!best || Math.abs(k.at - t) < Math.abs(best.at - t)) best = k;
  if (!best) return 'no kill yet';
  const d = (t - best.at) / 1000;
  const afterExit = t > best.exitAt ? `, ${((t - best.exitAt) / 1000).toFixed(3)} s after it was dead` : '';
  return `${Math.abs(d).toFixed(3)} s ${d >= 0 ? 'after' : 'before'} the kill of ${best.backend} at ${rel(best.at)}${afterExit}`;
}

function fail(kind: Kind, at: number, reason: string, explained: boolean): void {
  failures.push({ kind, at, reason: `${reason} (t=${rel(at)}, ${killNote(at)})`, explained });
}

const running = (endAt: number) => !abort.signal.aborted && now() < endAt;
/** sleep waits, or less when the run is interrupted. */
const sleep = (ms: number) => (ms > 0 ? delay(ms, undefined, { signal: abort.signal }).catch(() => {}) : Promise.resolve());

// ---------------------------------------------------------------- HTTP client

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function request(agent: http.Agent, port: number, method: string, urlPath: string, body?: Buffer): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, method, path: urlPath, agent,
      headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.length } : {},
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: `response broke: ${e.code ?? e.message}` }));
      res.on('aborted', () => resolve({ error: 'response aborted mid-body' }));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

const describeAnswer = (a: Answer) => `${a.status}${a.headers['x-yalb-error'] ? ` ${String(a.headers['x-yalb-error'])}` : ''}`;

/** paced runs `step` one at a time, every `intervalMs`, until `endAt`. */
async function paced(endAt: number, intervalMs: number, step: () => Promise<void>): Promise<void> {
  let next = now() + Math.random() * intervalMs;
  await sleep(next - now());
  while (running(endAt)) {
    await step();
    next += intervalMs;
    const wait = next - now();
    if (wait > 0) await sleep(wait);
    else next = now(); // behind: no burst to catch up
  }
}

function getLoop(agent: http.Agent, port: number, endAt: number, intervalMs: number): Promise<void> {
  return paced(endAt, intervalMs, async () => {
    const start = now();
    const a = await request(agent, port, 'GET', '/soak');
    const end = now();
    done.GET++;
    if ('error' in a) return fail('GET', start, `GET: ${a.error} after ${(end - start).toFixed(0)} ms`, false);
    if (a.status !== 200) return fail('GET', start, `GET: ${describeAnswer(a)}`, false);
    if (!/^hello from [ABC]\n$/.test(a.body.toString('latin1'))) return fail('GET', start, `GET: unexpected body ${JSON.stringify(a.body.toString('latin1').slice(0, 40))}`, false);
    ok.GET++;
    getLatencies.push(end - start);
  });
}

function postLoop(agent: http.Agent, port: number, endAt: number, intervalMs: number): Promise<void> {
  return paced(endAt, intervalMs, async () => {
    const body = randomBytes(1024 + Math.floor(Math.random() * 7 * 1024));
    const start = now();
    const a = await request(agent, port, 'POST', '/echo', body);
    const end = now();
    done.POST++;
    const killedDuring = inFlightAtKill(start, end);
    if ('error' in a) return fail('POST', start, `POST: ${a.error} after ${(end - start).toFixed(0)} ms`, false);
    if (a.status !== 200) {
      const explained = killedDuring && a.status === 502 && a.headers['x-yalb-error'] === 'YALB_ERR_UPSTREAM_RESET';
      return fail('POST', start, `POST: ${describeAnswer(a)}${killedDuring ? ' (in flight at a kill)' : ''}`, explained);
    }
    if (!a.body.equals(body)) return fail('POST', start, `POST: echo mismatch (sent ${body.length} B, got ${a.body.length} B)`, false);
    ok.POST++;
  });
}

/** wsSession is one WebSocket connection: hello, up to N echoes, close. */
function wsSession(url: string, endAt: number, intervalMs: number): Promise<void> {
  return new Promise((resolve) => {
    const startedAt = now();
    const sock = new WebSocket(url);
    let backend: string | undefined;
    let openedAt: number | undefined;
    let pending: { msg: string; at: number } | undefined;
    let sent = 0;
    let closing = false;
    let lastError = '';
    let settled = false;
    let sendTimer: NodeJS.Timeout | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        failAndEnd(`WS: no progress for ${REQUEST_TIMEOUT_MS / 1000} s on ${backend ?? 'an unknown backend'}${pending ? ` (echo of message ${sent} outstanding)` : ''}`, false);
      }, REQUEST_TIMEOUT_MS);
    };
    const end = () => {
      if (settled) return;
      settled = true;
      clearTimeout(sendTimer);
      clearTimeout(watchdog);
      resolve();
    };
    const failAndEnd = (reason: string, explained: boolean) => {
      if (settled) return;
      fail('WS', now(), reason, explained);
      closing = true;
      try { sock.close(); } catch { /* already closing */ }
      end();
    };
    const sendNext = () => {
      if (settled || closing) return;
      if (sent >= WS_MESSAGES_PER_CONNECTION || !running(endAt)) {
        closing = true;
        sock.close(1000, 'done');
        arm();
        return;
      }
      sent++;
      pending = { msg: `soak ${sent} ${randomBytes(12).toString('hex')}`, at: now() };
      sock.send(pending.msg);
      arm();
    };
    arm();
    sock.addEventListener('open', () => {
      openedAt = now();
      ws.connects++;
    });
    sock.addEventListener('error', (ev) => {
      lastError = (ev as unknown as { message?: string; error?: Error }).error?.message ?? (ev as unknown as { message?: string }).message ?? 'error';
    });
    sock.addEventListener('message', (ev) => {
      if (settled) return;
      const data = typeof ev.data === 'string' ? ev.data : `<${typeof ev.data}>`;
      if (backend === undefined) {
        const m = /^hello from ([ABC])$/.exec(data);
        if (!m) return failAndEnd(`WS: first message ${JSON.stringify(data.slice(0, 40))}, expected "hello from <backend>"`, false);
        backend = m[1]!;
        sendNext();
        return;
      }
      if (!pending) return failAndEnd(`WS: unexpected message ${JSON.stringify(data.slice(0, 40))} on ${backend}`, false);
      if (data !== pending.msg) return failAndEnd(`WS: echo mismatch on ${backend} (sent ${JSON.stringify(pending.msg)}, got ${JSON.stringify(data.slice(0, 60))})`, false);
      done.WS++;
      ok.WS++;
      pending = undefined;
      arm();
      clearTimeout(sendTimer);
      sendTimer = setTimeout(sendNext, intervalMs);
    });
    sock.addEventListener('close', (ev) => {
      if (settled) return;
      const closedAt = now();
      if (closing && ev.wasClean && ev.code === 1000) {
        ws.cleanCloses++;
        return end();
      }
      if (pending) done.WS++; // a message sent and never echoed
      const lost = pending ? `, echo of message ${sent} lost` : '';
      if (openedAt === undefined) {
        return failAndEnd(`WS: could not connect (close ${ev.code}${lastError ? `, ${lastError}` : ''}) after ${(closedAt - startedAt).toFixed(0)} ms`, false);
      }
      const explained = backend !== undefined && inFlightAtKill(openedAt, closedAt, backend);
      failAndEnd(`WS: closed ${closing ? 'during our close' : 'under us'} (code ${ev.code}, ${ev.wasClean ? 'clean' : 'not clean'}) on ${backend ?? 'an unknown backend'} after ${sent} messages${lost}, open since t=${rel(openedAt)}`, explained);
    });
  });
}

async function wsLoop(url: string, endAt: number, intervalMs: number): Promise<void> {
  await sleep(Math.random() * 200);
  while (running(endAt)) {
    await wsSession(url, endAt, intervalMs);
    await sleep(20);
  }
}

// ---------------------------------------------------------------- processes

interface Backend { name: string; port: number; proc: Proc }

function startBackend(name: string, port: number, dir: string): Proc {
  return launch(`backend ${name}`, 'all', process.execPath, ['--import', TSX, BACKEND, String(port), name], path.join(dir, `backend-${name}.log`));
}

function configText(o: { lbPort: number; adminPort: number; backends: Backend[] }, variant: number): string {
  const weights = variant === 0 ? [1, 1, 1] : [3, 2, 1];
  return [
    `# soak config, variant ${variant === 0 ? 'A (round robin)' : 'B (weighted round robin 3/2/1)'}`,
    `listen: 127.0.0.1:${o.lbPort}`,
    `strategy: ${variant === 0 ? 'round-robin' : 'weighted-round-robin'}`,
    'backends:',
    ...o.backends.map((b, i) => `  - { url: "http://127.0.0.1:${b.port}", weight: ${weights[i]} }`),
    'healthCheck: { interval: 500ms, timeout: 400ms, path: /status }',
    `admin: { listen: "127.0.0.1:${o.adminPort}" }`,
    'log: { level: info }',
    '',
  ].join('\n');
}

/** writeAtomically writes a temp file next to `file` and renames it over. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * waitDead busy-waits (bounded, 1 s) until `pid` is a zombie or gone and
 * returns that moment. Synchronous on purpose: the kill interval ends when
 * the process is dead, not when this event loop gets to notice it.
 */
function waitDead(pid: number): number {
  const limit = now() + 1000;
  for (;;) {
    let state = 'X';
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch { /* gone */ }
    if (state === 'Z' || state === 'X' || now() > limit) return now();
  }
}

/** tree is a process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!));
  return out;
}

interface Usage { rssKiB: number; fds: number; pids: number }
function usage(pid: number): Usage {
  let rssKiB = 0;
  let fds = 0;
  const pids = tree(pid);
  for (const p of pids) {
    try {
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
      fds += readdirSync(`/proc/${p}/fd`).length;
    } catch { /* gone */ }
  }
  return { rssKiB, fds, pids: pids.length };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};

/** sampleAt takes five readings over a second ending at `at`, and keeps the medians. */
async function sampleAt(pid: number, at: number): Promise<Usage> {
  await sleep(at - 1000 - now());
  const xs: Usage[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(usage(pid));
    if (i < 4) await sleep(250);
  }
  return { rssKiB: median(xs.map((x) => x.rssKiB)), fds: median(xs.map((x) => x.fds)), pids: Math.max(...xs.map((x) => x.pids)) };
}

/** metricsText is yalb's /metrics ('' when it does not answer). */
function metricsText(adminPort: number): Promise<string> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port: adminPort, path: '/metrics', agent: false, timeout: 3000 }, (res) => {
      let s = '';
      res.setEncoding('utf8').on('data', (d: string) => { s += d; }).on('end', () => resolve(s));
    }).on('error', () => resolve('')).on('timeout', function (this: http.ClientRequest) { this.destroy(); });
  });
}
const metric = (text: string, re: RegExp): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const pct = (end: number, mid: number) => (mid > 0 ? (end - mid) / mid : NaN);
const fmtPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %` : '–');
const mib = (kib: number) => (kib / 1024).toFixed(1);
const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);

// ---------------------------------------------------------------- main

async function main(o: Options): Promise<boolean> {
  const cli = path.join(o.dist, 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-soak-'));
  process.on('exit', () => {
    stopAllNow();
    if (o.keep) console.log(`(kept ${dir}: lb.yaml and every process's log)`);
    else rmSync(dir, { recursive: true, force: true });
  });
  const ports = [await freePort(), await freePort(), await freePort()];
  const backends: Backend[] = ['A', 'B', 'C'].map((name, i) => ({ name, port: ports[i]!, proc: startBackend(name, ports[i]!, dir) }));
  const lbPort = await freePort();
  const adminPort = await freePort();
  const cfg = { lbPort, adminPort, backends };
  const file = path.join(dir, 'lb.yaml');
  let yalb: Proc | undefined;
  const agents: http.Agent[] = [];
  const started = new Date();
  try {
    await Promise.all(backends.map((b) => waitHttp(`http://127.0.0.1:${b.port}/status`, b.proc)));
    writeAtomically(file, configText(cfg, 0));
    yalb = launch('yalb', 'all', process.execPath, [cli, 'start', '-c', file], path.join(dir, 'yalb.log'));
    await waitHttp(`http://127.0.0.1:${adminPort}/healthz`, yalb);
    await waitHttp(`http://127.0.0.1:${lbPort}/`, yalb);
    const yalbPid = yalb.pid;

    console.log(`## yalb soak, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${os.availableParallelism()} cores, load average ${loadavg()}`);
    const shownCli = path.relative(ROOT, cli).startsWith('..') ? cli : path.relative(ROOT, cli);
    console.log(`- yalb: node ${shownCli} start (pid ${yalbPid}) on 127.0.0.1:${lbPort}; HTTP health checks every 500 ms (timeout 400 ms, rise 2, fall 3); admin API on 127.0.0.1:${adminPort}; otherwise defaults`);
    console.log(`- backends: ${backends.map((b) => `${b.name} :${b.port}`).join(', ')} (one Node process each)`);
    console.log(`- load: ${GET_LOOPS} GET loops (${o.rate} req/s in all, keep-alive), ${POST_LOOPS} POST loops (1–8 KiB random bodies, echo checked; ${o.rate / 8} req/s in all), ${WS_LOOPS} WebSocket echo loops (undici client, ${WS_MESSAGES_PER_CONNECTION} messages per connection; ${o.rate / 8} msg/s in all); one request in flight per loop`);
    console.log(`- every ${RELOAD_EVERY_MS / 1000} s lb.yaml rewritten (temp + rename), alternating round robin 1/1/1 and weighted round robin 3/2/1; every ${KILL_EVERY_MS / 1000} s one backend kill -9'd and restarted on its port ${RESTART_AFTER_MS / 1000} s later`);
    console.log(`- duration ${o.durationMs / 1000} s after a ${o.warmupMs / 1000} s warm-up (the warm-up's traffic counts too)\n`);

    T0 = now();
    WALL0 = Date.now();
    const startAt = T0 + o.warmupMs;
    const midAt = startAt + o.durationMs / 2;
    const endAt = startAt + o.durationMs;
    const samplePoints = [startAt, midAt, endAt];
    const getAgent = new http.Agent({ keepAlive: true, maxSockets: GET_LOOPS });
    const postAgent = new http.Agent({ keepAlive: true, maxSockets: POST_LOOPS });
    agents.push(getAgent, postAgent);

    const loops: Promise<void>[] = [];
    for (let i = 0; i < GET_LOOPS; i++) loops.push(getLoop(getAgent, lbPort, endAt, (1000 * GET_LOOPS) / o.rate));
    for (let i = 0; i < POST_LOOPS; i++) loops.push(postLoop(postAgent, lbPort, endAt, (8000 * POST_LOOPS) / o.rate));
    for (let i = 0; i < WS_LOOPS; i++) loops.push(wsLoop(`ws://127.0.0.1:${lbPort}/ws`, endAt, (8000 * WS_LOOPS) / o.rate));

    // Reloads: every 2 s, alternating.
    let written = 0;
    const reloads = (async () => {
      let variant = 0;
      for (let t = T0 + RELOAD_EVERY_MS; t < endAt; t += RELOAD_EVERY_MS) {
        await sleep(t - now());
        if (!running(endAt)) break;
        variant = 1 - variant;
        writeAtomically(file, configText(cfg, variant));
        written++;
      }
    })();

    // Kills: round robin, none in the second before a sample or the 8 s before one.
    const killErrors: string[] = [];
    const killer = (async () => {
      let n = 0;
      for (let t = startAt + KILL_FIRST_MS; t < endAt; t += KILL_EVERY_MS) {
        if (samplePoints.some((p) => p >= t - 1500 && p <= t + 8000)) continue;
        await sleep(t - now());
        if (!running(endAt)) break;
        const b = backends[n++ % backends.length]!;
        const k: Kill = { backend: b.name, at: now(), exitAt: Infinity };
        kills.push(k);
        try { process.kill(-b.proc.pid, 'SIGKILL'); } catch { try { process.kill(b.proc.pid, 'SIGKILL'); } catch { /* gone */ } }
        k.exitAt = waitDead(b.proc.pid);
        await b.proc.exited;
        await sleep(k.at + RESTART_AFTER_MS - now());
        if (abort.signal.aborted) break;
        b.proc = startBackend(b.name, b.port, dir);
        try {
          await waitHttp(`http://127.0.0.1:${b.port}/status`, b.proc, 10_000);
          k.restartedAt = now();
        } catch (e) {
          killErrors.push(`${b.name} did not come back: ${(e as Error).message}`);
        }
      }
    })();

    const samples: Usage[] = [];
    for (const p of samplePoints) samples.push(await sampleAt(yalbPid, p));
    const yalbAliveAtEnd = yalb.child.exitCode === null && yalb.child.signalCode === null;
    await Promise.all([...loops, reloads, killer]);
    const wall = now() - T0;
    // The last rewrite may still be in flight: give yalb up to 3 s to count every one.
    let metrics = await metricsText(adminPort);
    for (let i = 0; i < 30 && !interrupted; i++) {
      const counted = (metric(metrics, /^yalb_config_reloads_total\{result="success"\} (\d+)/m) ?? 0)
        + (metric(metrics, /^yalb_config_reloads_total\{result="failure"\} (\d+)/m) ?? 0);
      if (counted >= written) break;
      await delay(100);
      metrics = await metricsText(adminPort);
    }
    const applied = metric(metrics, /^yalb_config_reloads_total\{result="success"\} (\d+)/m);
    const rejected = metric(metrics, /^yalb_config_reloads_total\{result="failure"\} (\d+)/m);
    const retryLines = metrics.split('\n').filter((l) => l.startsWith('yalb_retries_total{')).map((l) => l.replace(/^yalb_retries_total/, ''));
    const errorAnswers = new Map<string, number>();
    for (const m of metrics.matchAll(/^yalb_requests_total\{[^}]*code="(\d+)"[^}]*\} (\d+)/gm)) {
      if (m[1] !== '200' && m[1] !== '101') errorAnswers.set(m[1]!, (errorAnswers.get(m[1]!) ?? 0) + Number(m[2]));
    }

    // ------------------------------------------------------------ report
    if (interrupted) console.log('INTERRUPTED: a partial report of what ran.\n');
    console.log(`Ran ${(wall / 1000).toFixed(1)} s of load (${(o.warmupMs / 1000).toFixed(0)} s warm-up + ${(o.durationMs / 1000).toFixed(0)} s); load average at the end ${loadavg()}.`);
    console.log(`Reloads: ${written} written; yalb counted ${applied ?? '?'} applied and ${rejected ?? '?'} failed (yalb_config_reloads_total).`);
    console.log(`Kills: ${kills.length}${kills.length ? ` — ${kills.map((k) => `${k.backend} at ${rel(k.at)} = ${clock(k.at)} UTC (dead ${(k.exitAt - k.at).toFixed(1)} ms after the signal)${k.restartedAt ? ` (back ${((k.restartedAt - k.at) / 1000).toFixed(1)} s later)` : ' (not back)'}`).join(', ')}` : ''}${killErrors.length ? `; ${killErrors.join('; ')}` : ''}.`);
    console.log(`WebSocket connections: ${ws.connects} opened, ${ws.cleanCloses} closed cleanly by the client after their messages.`);
    console.log(`yalb's counters: retries ${retryLines.length ? retryLines.join(', ') : 'none'}; answers other than 200/101: ${errorAnswers.size ? [...errorAnswers].map(([c, n]) => `${n} × ${c}`).join(', ') : 'none'}.\n`);

    console.log('| kind | done | ok | failed | explained | unexplained |');
    console.log('|---|---:|---:|---:|---:|---:|');
    const kinds: [Kind, string][] = [['GET', 'GET requests'], ['POST', 'POST requests (echo)'], ['WS', 'WebSocket messages (echo)']];
    for (const [k, label] of kinds) {
      const f = failures.filter((x) => x.kind === k);
      const ex = f.filter((x) => x.explained).length;
      console.log(`| ${label} | ${done[k]} | ${ok[k]} | ${f.length} | ${ex} | ${f.length - ex} |`);
    }
    console.log('(a WebSocket failure is a connection: the messages it lost are in "done" but not "ok")');
    for (const [k] of kinds) {
      for (const explained of [false, true]) {
        const f = failures.filter((x) => x.kind === k && x.explained === explained);
        if (!f.length) continue;
        const counts = new Map<string, number>();
        for (const x of f) {
          const key = x.reason.replace(/ \(t=.*$/, '').replace(/, open since t=[\d.]+ s/, '').replace(/after \d+ ms/, 'after … ms').replace(/after \d+ messages/, 'after … messages').replace(/message \d+/, 'message …').replace(/sent \d+ B/, 'sent … B');
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        console.log(`\n${k} ${explained ? 'explained' : 'UNEXPLAINED'} failures: ${f.length}`);
        for (const [key, c] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${c} × ${key}`);
        const show = explained ? 3 : SHOW_REASONS;
        console.log(`  first ${Math.min(show, f.length)}:`);
        for (const x of f.slice(0, show)) console.log(`  - ${x.reason}`);
      }
    }
    const sorted = [...getLatencies].sort((a, b) => a - b);
    console.log(`\nGET latency (ok answers, send to last byte): p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms over ${sorted.length} requests.\n`);

    const [s0, s1, s2] = samples as [Usage, Usage, Usage];
    console.log(`| yalb (pid ${yalbPid}${s2.pids > 1 ? ` + ${s2.pids - 1} children` : ''}) | start | middle | end | end vs middle |`);
    console.log('|---|---:|---:|---:|---:|');
    console.log(`| RSS MiB | ${mib(s0.rssKiB)} | ${mib(s1.rssKiB)} | ${mib(s2.rssKiB)} | ${fmtPct(pct(s2.rssKiB, s1.rssKiB))} |`);
    console.log(`| open fds | ${s0.fds} | ${s1.fds} | ${s2.fds} | ${fmtPct(pct(s2.fds, s1.fds))} |`);

    const unexplained = failures.filter((x) => !x.explained).length;
    const rssD = pct(s2.rssKiB, s1.rssKiB);
    const fdD = pct(s2.fds, s1.fds);
    const verdicts: [string, boolean, string][] = [
      ['0 unexplained failures', unexplained === 0, `${unexplained}`],
      ['RSS at the end within 10 % of the middle (at most +10 %)', rssD <= TOLERANCE, fmtPct(rssD)],
      ['open fds at the end within 10 % of the middle (at most +10 %)', fdD <= TOLERANCE, fmtPct(fdD)],
      ['yalb alive at the end', yalbAliveAtEnd, yalbAliveAtEnd ? 'yes' : `exited (${yalb.child.exitCode ?? yalb.child.signalCode})`],
    ];
    console.log('\nVerdict:');
    for (const [name, pass, value] of verdicts) console.log(`- ${pass ? 'PASS' : 'FAIL'} ${name}: ${value}`);
    const allPass = verdicts.every((v) => v[1]);
    console.log(`\n${interrupted ? 'INTERRUPTED (no verdict)' : allPass ? 'PASS' : 'FAIL'}${o.keep ? '' : ' (rerun with --keep to keep yalb\'s log)'}`);
    return allPass;
  } finally {
    abort.abort();
    for (const a of agents) a.destroy();
    if (yalb) await stop(yalb);
    await Promise.all(backends.map((b) => stop(b.proc)));
  }
}

let o: Options;
try {
  o = options();
} catch (e) {
  console.error(`soak: ${(e as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('\nsoak: interrupted; stopping everything (SIGINT again to exit at once)');
  abort.abort();
});
process.on('SIGTERM', () => process.exit(143));
const watchdog = setTimeout(() => {
  console.error('soak: still running long after its duration; stopping everything');
  process.exit(1);
}, o.warmupMs + o.durationMs + 120_000);
watchdog.unref();

try {
  const pass = await main(o);
  process.exit(interrupted ? 130 : pass ? 0 : 1);
} catch (e) {
  console.error(`soak: ${(e as Error).message}`);
  process.exit(interrupted ? 130 : 1);
}
