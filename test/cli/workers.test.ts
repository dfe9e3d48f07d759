/**
 * `workers: 2` as users run it: `yalb start` in the foreground becomes a
 * primary with two serving workers. Both serve; a reload, a backend that
 * stops, and a passive ejection decided from one worker's failures reach
 * both; a worker killed with SIGKILL under load is replaced without a failed
 * request on the other worker's connections; hash keys and sticky cookies
 * pick the same backend whichever worker serves; SIGTERM drains both and
 * leaves no process behind, and so does a primary killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import type { StatusDocument } from '../../src/admin/status.js';
import { isAlive } from '../../src/cli/pid-file.js';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { exited, spawnCli } from '../helpers/cli.js';
import { request, tempDir, type Teardown } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

interface Cluster {
  child: ChildProcess & { output: () => string };
  file: string;
  url: string;
  status(): Promise<StatusDocument>;
  write(backends: TestBackend[], extra?: string): void;
}

function config(port: number, adminPort: number, backends: TestBackend[], extra: string): string {
  return `listen: 127.0.0.1:${port}\nworkers: 2\nadmin:\n  listen: 127.0.0.1:${adminPort}\nbackends:\n${backends.map((b) => `  - url: ${b.url}\n`).join('')}${extra}`;
}

/** startCluster runs `yalb start` on a workers: 2 config and waits until both workers serve. */
async function startCluster(t: Teardown, backends: TestBackend[], extra = ''): Promise<Cluster> {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  const adminPort = await deadPort();
  const write = (bs: TestBackend[], x = extra) => writeFileSync(file, config(port, adminPort, bs, x));
  write(backends);
  const child = spawnCli(t, ['start', '-c', file, '--pid-file', path.join(dir, 'yalb.pid')]);
  // Workers are the primary's children: kill them too if the test fails half-way.
  const workerPids = new Set<number>();
  t.after(() => {
    for (const pid of workerPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  const status = async () => {
    const r = await request(`http://127.0.0.1:${adminPort}/status`);
    const doc = JSON.parse(r.body) as StatusDocument;
    for (const w of doc.workers) workerPids.add(w.pid);
    return doc;
  };
  await waitFor(async () => (await status()).workers.length === 2, { timeoutMs: 40_000, what: `two workers (output: ${child.output()})` });
  return { child, file, url: `http://127.0.0.1:${port}`, status, write };
}

/** fresh sends one request on a new connection (the primary hands each new connection to the next worker). */
function fresh(url: string, headers: http.OutgoingHttpHeaders = {}) {
  return request(url, { agent: false, headers });
}

test('workers: 2 — both serve, a reload and a stopped backend reach both', async (t) => {
  const backends = await startBackends(t, 3);
  const [b1, b2, b3] = backends as [TestBackend, TestBackend, TestBackend];
  const c = await startCluster(t, [b1, b2], 'healthCheck:\n  interval: 200ms\n  timeout: 200ms\n');
  for (let i = 0; i < 20; i++) assert.equal((await fresh(c.url)).status, 200);
  const s1 = await c.status();
  assert.equal(s1.workers.length, 2);
  for (const w of s1.workers) assert.ok(w.requests > 0, `worker ${w.id} served ${w.requests} requests`);
  assert.notEqual(s1.workers[0]?.pid, s1.workers[1]?.pid);
  assert.equal(s1.backends.reduce((n, b) => n + b.requests, 0), s1.workers.reduce((n, w) => n + w.requests, 0), 'backend counts are the workers\' sums');

  // A reload adds b3: both workers take the new generation, and it is served.
  c.write([b1, b2, b3], 'healthCheck:\n  interval: 200ms\n  timeout: 200ms\n');
  process.kill(c.child.pid as number, 'SIGHUP');
  await waitFor(async () => (await c.status()).workers.every((w) => w.generation === 2), { timeoutMs: 10_000, what: 'both workers on generation 2' });
  const before = b3.hits;
  for (let i = 0; i < 12; i++) assert.equal((await fresh(c.url)).status, 200);
  assert.ok(b3.hits - before >= 4, `b3 served ${b3.hits - before} of 12 after the reload`);

  // b2 stops: the primary's probes see it, and no worker sends it a request any more.
  await b2.stop();
  await waitFor(async () => (await c.status()).backends.find((b) => b.url === b2.url)?.state === 'down', { timeoutMs: 5_000, what: 'b2 down' });
  const tried = (await c.status()).backends.find((b) => b.url === b2.url)?.requests;
  for (let i = 0; i < 12; i++) assert.equal((await fresh(c.url)).status, 200);
  assert.equal((await c.status()).backends.find((b) => b.url === b2.url)?.requests, tried, 'no worker tried the down backend');
});

test('workers: 2 — a passive ejection decided from one worker\'s failures applies in the other', async (t) => {
  const [good, bad] = await startBackends(t, 2);
  const c = await startCluster(t, [good!, bad!], 'passive:\n  consecutiveFailures: 3\n  ejectFor: 60s\nretry:\n  maxAttempts: 1\n');
  bad!.behaviour = { kind: 'status', status: 500 };
  // One keep-alive connection: every request goes to the same worker.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  await waitFor(async () => {
    await request(c.url, { agent });
    return (await c.status()).backends.find((b) => b.url === bad!.url)?.state === 'ejected';
  }, { timeoutMs: 10_000, what: 'bad backend ejected' });
  const hits = bad!.hits;
  // New connections alternate between the workers: neither sends to the ejected backend.
  for (let i = 0; i < 12; i++) assert.equal((await fresh(c.url)).body, 'b1\n');
  assert.equal(bad!.hits, hits, 'the ejected backend got no request from either worker');
});

test('workers: 2 — hash keys and sticky cookies pick the same backend from either worker', async (t) => {
  const backends = await startBackends(t, 3);
  const c = await startCluster(t, backends, 'strategy: hash\nhashKey: header:x-user\nsticky:\n  cookie: lb\n');
  for (const user of ['ann', 'bob', 'cy', 'dee', 'eve']) {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await fresh(c.url, { 'x-user': user })).body);
    assert.equal(seen.size, 1, `user ${user} reached ${[...seen].join(', ')}`);
  }
  const first = await fresh(c.url, { 'x-user': 'zed' });
  const cookie = String(first.headers['set-cookie']?.[0] ?? '').split(';')[0] as string;
  assert.match(cookie, /^lb=/);
  for (let i = 0; i < 6; i++) assert.equal((await fresh(c.url, { cookie, 'x-user': `other-${i}` })).body, first.body, 'the cookie wins over the hash, in either worker');
});

test('workers: 2 — SIGKILL of one worker under load: replaced, nothing failed on the other worker\'s connections', async (t) => {
  const backends = await startBackends(t, 3);
  const c = await startCluster(t, backends);
  const pids = (await c.status()).workers.map((w) => w.pid);
  // Eight keep-alive clients, opened one after another: the primary hands them to the workers in turn (four each).
  const CLIENTS = 8;
  const agents = Array.from({ length: CLIENTS }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  t.after(() => agents.forEach((a) => a.destroy()));
  for (const a of agents) assert.equal((await request(c.url, { agent: a })).status, 200);
  const failures = new Array<number>(CLIENTS).fill(0);
  const served = new Array<number>(CLIENTS).fill(0);
  let stop = false;
  const loops = agents.map(async (agent, i) => {
    for (let n = 0; n < 20_000 && !stop; n++) {
      try {
        const r = await request(c.url, { agent, timeoutMs: 5_000 });
        if (r.status === 200) served[i]!++;
        else failures[i]!++;
      } catch {
        failures[i]!++;
      }
    }
  });
  await waitFor(() => served.every((n) => n > 20), { timeoutMs: 10_000, what: 'every client served' });
  const victim = pids[0] as number;
  process.kill(victim, 'SIGKILL');
  const replaced = await waitFor(async () => {
    const s = await c.status();
    return s.workers.length === 2 && !s.workers.some((w) => w.pid === victim) ? s : undefined;
  }, { timeoutMs: 15_000, what: 'a replacement worker' });
  const newcomer = replaced.workers.find((w) => !pids.includes(w.pid));
  assert.ok(newcomer, 'a new worker pid');
  const afterKill = [...served];
  await waitFor(() => served.every((n, i) => n > (afterKill[i] as number) + 10), { timeoutMs: 10_000, what: 'every client served again' });
  stop = true;
  await Promise.all(loops);
  // The killed worker held half the connections: each of them may fail the one request it had in flight, nothing more.
  const hit = failures.filter((f) => f > 0).length;
  assert.ok(hit <= CLIENTS / 2, `failures per client: ${failures.join(' ')} (more connections failed than the killed worker held)`);
  assert.ok(failures.every((f) => f <= 1), `failures per client: ${failures.join(' ')}`);
  t.diagnostic(`requests ${served.reduce((a, b) => a + b, 0)}, failed ${failures.reduce((a, b) => a + b, 0)} (on ${hit} of the killed worker's ${CLIENTS / 2} connections)`);
  // The replacement serves new connections.
  await waitFor(async () => {
    await fresh(c.url);
    return ((await c.status()).workers.find((w) => w.pid === newcomer.pid)?.requests ?? 0) > 0;
  }, { timeoutMs: 5_000, what: 'the replacement serves' });
});

test('workers: 2 — SIGTERM drains both workers and exits 0; SIGKILL of the primary leaves no worker behind', async (t) => {
  const [slow] = await startBackends(t, 1);
  slow!.behaviour = { kind: 'delay', ms: 600 };
  const c = await startCluster(t, [slow!]);
  const pids = (await c.status()).workers.map((w) => w.pid);
  // An idle keep-alive connection does not hold the drain up.
  const idle = new http.Agent({ keepAlive: true });
  t.after(() => idle.destroy());
  assert.equal((await request(c.url, { agent: idle })).status, 200);
  const inFlight = [fresh(c.url), fresh(c.url)];
  await waitFor(async () => (await c.status()).inFlight === 2, { what: 'two requests in flight' });
  const asked = Date.now();
  c.child.kill('SIGTERM');
  for (const r of await Promise.all(inFlight)) assert.equal(r.status, 200, 'in-flight requests finish');
  assert.deepEqual(await exited(c.child), { code: 0, signal: null });
  assert.ok(Date.now() - asked < 8_000, `stopped in ${Date.now() - asked} ms`);
  await waitFor(() => pids.every((p) => !isAlive(p)), { what: 'no worker left' });

  slow!.behaviour = { kind: 'ok' };
  const c2 = await startCluster(t, [slow!]);
  const pids2 = (await c2.status()).workers.map((w) => w.pid);
  c2.child.kill('SIGKILL');
  await exited(c2.child);
  await waitFor(() => pids2.every((p) => !isAlive(p)), { timeoutMs: 10_000, what: 'workers exit after their primary is killed' });
});

test('workers: 2 — a reload to 3 and back to 2 under keep-alive load fails nothing; 2 → 1 is refused and 2 keep serving', async (t) => {
  const backends = await startBackends(t, 2);
  const c = await startCluster(t, backends);
  const agents = Array.from({ length: 4 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  t.after(() => agents.forEach((a) => a.destroy()));
  let failed = 0;
  let served = 0;
  const errors: string[] = [];
  let stop = false;
  const loops = agents.map(async (agent) => {
    for (let n = 0; n < 20_000 && !stop; n++) {
      try {
        const r = await request(c.url, { agent, timeoutMs: 5_000 });
        if (r.status === 200) served++;
        else failed++;
      } catch (err) {
        failed++;
        errors.push((err as Error).message);
      }
    }
  });
  const resize = async (n: number, generation: number) => {
    writeFileSync(c.file, readFileSync(c.file, 'utf8').replace(/^workers: \d+$/m, `workers: ${n}`));
    process.kill(c.child.pid as number, 'SIGHUP');
    await waitFor(async () => {
      const s = await c.status();
      return s.generation === generation && s.workers.length === n && s.workers.every((w) => w.generation === generation);
    }, { timeoutMs: 15_000, what: `${n} workers on generation ${generation}` });
    const at = served;
    await waitFor(() => served > at + 50, { timeoutMs: 10_000, what: 'load goes on' });
  };
  await waitFor(() => served > 50, { timeoutMs: 10_000, what: 'load' });
  await resize(3, 2);
  await resize(2, 3);
  // One process ↔ several needs a restart: refused, the running config stays.
  writeFileSync(c.file, readFileSync(c.file, 'utf8').replace(/^workers: \d+$/m, 'workers: 1'));
  process.kill(c.child.pid as number, 'SIGHUP');
  const refused = await waitFor(async () => {
    const s = await c.status();
    return s.lastReload && !s.lastReload.ok ? s : undefined;
  }, { timeoutMs: 10_000, what: 'the reload refused' });
  assert.match(JSON.stringify(refused.lastReload), /workers: switching between one process and several needs a restart/);
  assert.equal(refused.workers.length, 2);
  assert.equal(refused.generation, 3);
  stop = true;
  await Promise.all(loops);
  assert.equal(failed, 0, `failed ${failed} of ${served + failed}: ${errors.slice(0, 3).join('; ')}`);
  t.diagnostic(`${served} requests across 2 → 3 → 2 workers, none failed`);
});
