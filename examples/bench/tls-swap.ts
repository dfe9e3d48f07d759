/**
 * `npm run bench:tls-swap`: how long after a certificate renewal on disk
 * yalb serves the new certificate (issue 14). yalb runs as a child process
 * (`node dist/cli.js start`) on an HTTPS listener whose pair sits in a
 * certbot layout (live/ symlinks to archive/ files); each of N renewals
 * writes new archive files and swaps both links (a new link renamed over
 * the old, as certbot does), then new TLS handshakes are made every 5 ms
 * until one gets the new certificate. Prints every time, the median and
 * the max. Certificates are made with openssl here; all traffic on
 * 127.0.0.1; everything is removed at the end. Run it under
 * `flock /tmp/bench.lock` on a shared machine.
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const N = Number(process.env.SWAPS ?? 10);
const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-tls-swap-'));

function cert(i: number): { cert: string; key: string; fp: string } {
  const c = path.join(dir, 'archive', `fullchain${i}.pem`);
  const k = path.join(dir, 'archive', `privkey${i}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '2',
    '-subj', `/CN=swap${i}.test`, '-addext', 'subjectAltName=DNS:site.test'], { stdio: 'ignore' });
  return { cert: c, key: k, fp: new X509Certificate(readFileSync(c)).fingerprint256 };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function served(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'site.test', rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.setTimeout(2000, () => s.destroy());
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(''));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

mkdirSync(path.join(dir, 'archive'));
mkdirSync(path.join(dir, 'live'));
const pairs = Array.from({ length: N + 1 }, (_, i) => cert(i + 1));
const live = { cert: path.join(dir, 'live', 'fullchain.pem'), key: path.join(dir, 'live', 'privkey.pem') };
symlinkSync(path.relative(path.join(dir, 'live'), pairs[0]!.cert), live.cert);
symlinkSync(path.relative(path.join(dir, 'live'), pairs[0]!.key), live.key);
const port = await freePort();
const backend = await freePort();
writeFileSync(path.join(dir, 'lb.yaml'), `listen: 127.0.0.1:${port}\nbackends:\n  - url: http://127.0.0.1:${backend}\ntls:\n  cert: ${live.cert}\n  key: ${live.key}\nlog:\n  level: warn\n`);
const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'start', '-c', path.join(dir, 'lb.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
const cleanup = () => {
  if (child.exitCode === null) child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
try {
  const up = Date.now() + 20_000;
  while ((await served(port)) !== pairs[0]!.fp) {
    if (Date.now() > up) throw new Error('yalb did not serve the first certificate within 20 s');
    await sleep(50);
  }
  const times: number[] = [];
  for (let i = 1; i <= N; i++) {
    const p = pairs[i]!;
    await sleep(300); // let the previous renewal's events settle
    const t0 = performance.now();
    for (const [link, target] of [[live.cert, p.cert], [live.key, p.key]] as const) {
      symlinkSync(path.relative(path.dirname(link), target), `${link}.new`);
      renameSync(`${link}.new`, link);
    }
    const deadline = t0 + 10_000;
    for (;;) {
      if ((await served(port)) === p.fp) break;
      if (performance.now() > deadline) throw new Error(`renewal ${i}: the new certificate was not served within 10 s`);
      await sleep(5);
    }
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  console.log(`certificate swap → new certificate served, ${N} certbot-style renewals (symlink swaps), Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`times (ms): ${times.map((t) => t.toFixed(0)).join(', ')}`);
  console.log(`median ${median.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
} catch (err) {
  console.error(`tls-swap: ${(err as Error).message}`);
  process.exitCode = 1;
}
cleanup();
