/**
 * The TLS workload of `npm run bench` (issue 14): what terminating HTTPS
 * costs. Two yalb processes on the same three Node backends, identical but
 * for `tls:` (one listens HTTPS with a P-256 certificate made here by
 * openssl, the other plain HTTP), each pinned to the proxy core like every
 * other target; wrk -t1 with keep-alive connections (so the cost measured
 * is TLS record encryption, with one handshake per connection), the two
 * runs interleaved round by round. Reported: req/s and latency of each and
 * the ratio HTTPS / plain of the same run.
 */
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closedLoop, type Sample } from './load.js';
import { freePort, has, launch, stop, waitHttp, type Proc } from './procs.js';
import { startNodeBackends, yalbConfig } from './targets.js';

const CLI = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/cli.js');

/** tlsWorkloadMissing tells why the TLS workload cannot run here, or '' when it can. */
export function tlsWorkloadMissing(): string {
  if (!has('openssl')) return 'openssl is not installed';
  if (!has('wrk')) return 'wrk is not installed (the Node load loop speaks plain HTTP only)';
  return '';
}

function getInsecure(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { agent: false, rejectUnauthorized: false, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

async function waitHttps(url: string, p: Proc, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while ((await getInsecure(url)) !== 200) {
    if (Date.now() > end) throw new Error(`${p.name}: ${url} did not answer 200 within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** runTlsWorkload measures yalb HTTPS against yalb plain HTTP and prints the table. */
export async function runTlsWorkload(o: { rounds: number; seconds: number; warmup: number; connections: number }, dir: string): Promise<void> {
  const cert = path.join(dir, 'bench-tls.crt');
  const key = path.join(dir, 'bench-tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=bench.test', '-addext', 'subjectAltName=DNS:bench.test,IP:127.0.0.1'], { stdio: 'ignore' });
  const backends = await startNodeBackends(dir);
  const procs: Proc[] = [];
  try {
    const targets: Array<{ name: string; url: string; samples: Sample[] }> = [];
    for (const secure of [false, true]) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const file = path.join(dir, `yalb-${secure ? 'https' : 'plain'}.yaml`);
      const base = yalbConfig(port, adminPort, backends.urls, {});
      writeFileSync(file, secure ? `${base}tls:\n  cert: ${cert}\n  key: ${key}\n` : base);
      const p = launch(`yalb ${secure ? 'https' : 'plain'}`, 0, process.execPath, [CLI, 'start', '-c', file], path.join(dir, `yalb-${secure ? 'https' : 'plain'}.log`));
      procs.push(p);
      const url = `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`;
      await (secure ? waitHttps(url, p) : waitHttp(url, p));
      targets.push({ name: secure ? 'yalb, HTTPS listener (TLS 1.3, P-256)' : 'yalb, plain HTTP listener', url, samples: [] });
    }
    for (const t of targets) if (o.warmup > 0) await closedLoop('wrk', t.url, o.connections, o.warmup);
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 ? [...targets].reverse() : targets;
      for (const t of order) t.samples.push(await closedLoop('wrk', t.url, o.connections, o.seconds));
    }
    const [plain, secure] = targets as [typeof targets[0], typeof targets[0]];
    const rps = (t: typeof plain) => median(t.samples.map((s) => s.rps));
    console.log('\n### TLS termination: yalb HTTPS vs yalb plain HTTP, small body (`GET /`) from three Node backends\n');
    console.log(`Closed loop: wrk -t1 -c${o.connections} (keep-alive: one handshake per connection), ${o.rounds} × ${o.seconds} s per target, rounds interleaved; both yalb on the proxy core, default engine.\n`);
    console.log('| target | req/s (median) | min–max | ×plain | p50 ms | p99 ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const t of targets) {
      const xs = t.samples.map((s) => s.rps);
      console.log(`| ${t.name} | ${Math.round(rps(t)).toLocaleString('en-US')} | ${Math.round(Math.min(...xs)).toLocaleString('en-US')}–${Math.round(Math.max(...xs)).toLocaleString('en-US')} | ${(rps(t) / rps(plain)).toFixed(2)}× | ${median(t.samples.map((s) => s.p50)).toFixed(2)} | ${median(t.samples.map((s) => s.p99)).toFixed(2)} | ${t.samples.reduce((a, s) => a + s.errors, 0)} |`);
    }
    console.log(`\nCost of TLS termination in this run: ${((1 - rps(secure) / rps(plain)) * 100).toFixed(0)} % fewer req/s.`);
  } finally {
    await Promise.all(procs.map((p) => stop(p, 5000)));
    await backends.stop();
  }
}
