/**
 * A reload that changes `listen` (issue 3): the new address is opened
 * before the old one is closed; if it cannot be bound, the reload fails as
 * a whole and the old config keeps serving on the old address.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { answers, lbYaml, saveInPlace, waitForBackend, waitForGeneration } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

const SERVE_MS = 3000;

/** refuses resolves true once a TCP connect to the port is refused. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('a new listen address serves, and the old one stops accepting (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const oldPort = daemon.address.port;
  const newPort = await deadPort();
  saveInPlace(file, lbYaml([b2!.url], { listen: `127.0.0.1:${newPort}` }));
  await waitForGeneration(daemon, 2);
  assert.equal(daemon.address.port, newPort);
  await waitForBackend(`http://127.0.0.1:${newPort}`, 'b2', SERVE_MS);
  await waitFor(() => refuses(oldPort), { what: `the old port ${oldPort} to refuse connections` });
  await assert.rejects(request(url), /ECONNREFUSED/);
  const status = daemon.status() as { listen: string };
  assert.equal(status.listen, `127.0.0.1:${newPort}`);
});

test('an unbindable new listen address fails the whole reload; the old config stays (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  let held = true;
  t.after(() => { if (held) holder.close(); });
  const busyPort = (holder.address() as net.AddressInfo).port;
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const oldPort = daemon.address.port;
  saveInPlace(file, lbYaml([b2!.url], { listen: `127.0.0.1:${busyPort}` }));
  const last = await waitFor(() => (daemon.reloader.lastReload?.ok === false ? daemon.reloader.lastReload : undefined), {
    timeoutMs: SERVE_MS, what: 'the reload to fail',
  });
  // line 1, col 9: the value of listen.
  assert.deepEqual(last.errors, [`${file}:1:9: listen: cannot listen on 127.0.0.1:${busyPort}: EADDRINUSE`]);
  assert.equal(daemon.current.number, 1);
  assert.equal(daemon.address.port, oldPort);
  assert.deepEqual(daemon.current.pool.backends.map((b) => b.url), [b1!.url]);
  assert.deepEqual(await answers(url, 3), ['b1', 'b1', 'b1'], 'old port, old pool');
  assert.equal(b2!.hits, 0);
  // Once the address is free, the same file applies (SIGHUP).
  await new Promise<void>((r) => holder.close(() => r()));
  held = false;
  const r = await daemon.reload('SIGHUP');
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(daemon.address.port, busyPort);
  await waitForBackend(`http://127.0.0.1:${busyPort}`, 'b2', SERVE_MS);
});

test('a new admin.listen address serves /status, and the old one stops accepting (issue 3)', async (t) => {
  const [b1] = await startBackends(t, 1);
  const [a1, a2] = [await deadPort(), await deadPort()];
  const { daemon, file } = await startTestDaemon(t, lbYaml([b1!.url], { extra: `admin:\n  listen: 127.0.0.1:${a1}\n` }));
  assert.equal((await request(`http://127.0.0.1:${a1}/status`)).status, 200);
  saveInPlace(file, lbYaml([b1!.url], { extra: `admin:\n  listen: 127.0.0.1:${a2}\n` }));
  await waitForGeneration(daemon, 2);
  assert.equal(daemon.adminAddress?.port, a2);
  const status = JSON.parse((await request(`http://127.0.0.1:${a2}/status`)).body) as { generation: number };
  assert.equal(status.generation, 2);
  await waitFor(() => refuses(a1), { what: `the old admin port ${a1} to refuse connections` });
});

test('a request in flight on the old listen address finishes 200 when the listener moves (issue 3)', async (t) => {
  const [b1] = await startBackends(t, 1);
  b1!.behaviour = { kind: 'delay', ms: 800 };
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const oldPort = daemon.address.port;
  const slow = request(url);
  await waitFor(() => b1!.seen.length === 1, { what: 'the request to reach b1' });
  const newPort = await deadPort();
  saveInPlace(file, lbYaml([b1!.url], { listen: `127.0.0.1:${newPort}` }));
  await waitForGeneration(daemon, 2);
  await waitFor(() => refuses(oldPort), { what: 'the old port to stop accepting' });
  const r = await slow;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'b1\n');
});
