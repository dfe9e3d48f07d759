/**
 * What a reload carries over and what it must not disturb (issue 3): a
 * backend kept by URL keeps its health state and its pooled keep-alive
 * connection; a new backend that is down never takes a request; an
 * in-flight request finishes on the generation it started on, even when
 * the reload removes its backend; the applied reload logs its diff.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { answers, lbYaml, saveInPlace, waitForBackend, waitForGeneration, waitForLog } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

const SERVE_MS = 3000;
/** Probes far apart and rise/fall 2: nothing but the test changes a backend's state. */
const SLOW_HEALTH = 'healthCheck:\n  interval: 1h\n  rise: 2\n  fall: 2\n';

test('a backend marked down stays down across a reload that keeps it (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url, b2!.url], { extra: SLOW_HEALTH }));
  const down = daemon.current.pool.backend(b2!.url)!;
  daemon.current.pool.markDown(down, 'test: marked down');
  const hitsBefore = b2!.hits;
  saveInPlace(file, lbYaml([b1!.url, b2!.url, b3!.url], { extra: SLOW_HEALTH }));
  await waitForBackend(url, 'b3', SERVE_MS);
  const kept = daemon.current.pool.backend(b2!.url)!;
  assert.equal(kept.state, down.state, 'the same state object, found by URL');
  assert.equal(kept.stateName, 'down');
  const seen = await answers(url, 12);
  assert.deepEqual([...new Set(seen)].sort(), ['b1', 'b3']);
  assert.equal(b2!.hits, hitsBefore, 'b2 (alive but marked down) took no request');
  const status = daemon.status() as { backends: Array<{ url: string; state: string }> };
  assert.equal(status.backends.find((b) => b.url === b2!.url)?.state, 'down');
});

test('a new backend that is down never takes a request after the reload (issue 3)', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dead = `http://127.0.0.1:${await deadPort()}`;
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url], { extra: SLOW_HEALTH }));
  saveInPlace(file, lbYaml([b1!.url, dead], { extra: SLOW_HEALTH }));
  await waitForGeneration(daemon, 2);
  // A burst right after the swap: the dead backend was probed before it.
  const burst = await Promise.all(Array.from({ length: 40 }, () => request(url)));
  assert.deepEqual(burst.filter((r) => r.status !== 200 || r.body !== 'b1\n').map((r) => `${r.status} ${r.body}`), []);
  const d = daemon.current.pool.backend(dead)!;
  assert.equal(d.stateName, 'down');
  assert.equal(d.traffic.requests, 0, 'no request was even tried on it');
  assert.doesNotMatch(await daemon.metrics.text(), /^yalb_retries_total\{/m, 'no retry was needed');
});

test('an in-flight slow POST finishes 200 across a reload that removes its backend (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  b1!.behaviour = { kind: 'delay', ms: 1000 };
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const body = 'x'.repeat(10_000);
  const post = request(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  await waitFor(() => b1!.seen.length === 1, { what: 'b1 to receive the POST' });
  saveInPlace(file, lbYaml([b2!.url]));
  await waitForGeneration(daemon, 2);
  assert.equal((await request(url)).body, 'b2\n', 'new requests go to the new pool meanwhile');
  const r = await post;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'b1\n');
  assert.equal(b1!.seen[0]!.body.toString(), body);
  assert.equal(b1!.hits, 1, 'the POST was not replayed, and nothing else went to b1');
});

test('the pooled keep-alive connection of a kept backend survives the reload (issue 3)', async (t) => {
  const [b1] = await startBackends(t, 1);
  b1!.behaviour = {
    kind: 'custom',
    handler: (req, res) => res.end(`b1 ${req.socket.remotePort}\n`),
  };
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const client = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => client.destroy());
  const port = async () => {
    const r = await request(url, { agent: client });
    assert.equal(r.status, 200);
    return r.body.trim().split(' ')[1];
  };
  const before = await port();
  assert.equal(await port(), before, 'the proxy reuses its connection to b1');
  saveInPlace(file, lbYaml([b1!.url], { extra: 'timeouts:\n  response: 30s\n' }));
  await waitForGeneration(daemon, 2);
  assert.equal(daemon.current.settings.timeouts.responseMs, 30_000);
  assert.equal(await port(), before, 'same upstream socket after the reload');
});

test('an applied reload logs one diff line (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url, logs } = await startTestDaemon(t, lbYaml([b1!.url]));
  saveInPlace(file, lbYaml([b2!.url], { strategy: 'least-connections' }));
  await waitForBackend(url, 'b2', SERVE_MS);
  const line = await waitForLog(logs.lines, 'reload applied');
  const message = (JSON.parse(line) as { msg: string }).msg;
  assert.match(message, /^reload applied \([^)]*lb\.yaml[^)]*\): /);
  assert.equal(message.replace(/^reload applied \([^)]*\): /, ''),
    `+1 backend (${b2!.url}), -1 backend (${b1!.url}), strategy round-robin → least-connections`);
  assert.equal(daemon.current.config.strategy, 'least-connections');
  assert.equal(logs.lines.filter((l) => l.includes('reload applied')).length, 1);
  assert.deepEqual(daemon.reloader.lastReload?.ok && daemon.reloader.lastReload.changes, [
    `+1 backend (${b2!.url})`, `-1 backend (${b1!.url})`, 'strategy round-robin → least-connections',
  ]);
});

test('a backend added while a removed one still drains keeps its state on later reloads (issue 3 regression)', async (t) => {
  // The reaper that waits for the removed backend's in-flight request used
  // to forget the state of a backend being built by the next reload (its
  // probe takes a while), leaving that generation with an orphan state.
  const [b1, b2, b3] = await startBackends(t, 3);
  b1!.behaviour = { kind: 'delay', ms: 1500 };
  b3!.behaviour = {
    kind: 'custom',
    handler: (req, res) => {
      const t3 = setTimeout(() => res.end('b3\n'), req.url === '/health' ? 300 : 0);
      res.on('close', () => clearTimeout(t3));
    },
  };
  const health = 'healthCheck:\n  interval: 1h\n  path: /health\n  rise: 2\n  fall: 2\n';
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url, b2!.url], { extra: health }));
  const slow = request(url, { method: 'POST', body: 'slow' }).catch((err: Error) => err);
  await waitFor(() => b1!.seen.some((s) => s.method === 'POST'), { what: 'the slow POST to reach b1' });
  saveInPlace(file, lbYaml([b2!.url], { extra: health })); // b1 removed, still in flight
  await waitForGeneration(daemon, 2);
  saveInPlace(file, lbYaml([b2!.url, b3!.url], { extra: health })); // b3 new: probed for 300 ms
  await waitForGeneration(daemon, 3);
  assert.equal(daemon.registry.has(b3!.url), true, 'b3 state is in the registry');
  const s3 = daemon.current.pool.backend(b3!.url)!;
  assert.equal(s3.state, daemon.registry.state(b3!.url));
  daemon.current.pool.markDown(s3, 'test: marked down');
  saveInPlace(file, lbYaml([b2!.url, b3!.url], { extra: `${health}retry:\n  maxAttempts: 2\n` }));
  await waitForGeneration(daemon, 4);
  assert.equal(daemon.current.pool.backend(b3!.url)!.stateName, 'down', 'b3 kept its state');
  const r = await slow;
  assert.ok(!(r instanceof Error) && r.status === 200, String(r instanceof Error ? r.message : r.status));
});

test('a slow upload that started before its backend was removed finishes 200, across two reloads (issue 3 regression)', async (t) => {
  // The upload is still being read (buffered for replay) when the reload
  // removes its backend, so the backend's agent and state are reaped with
  // nothing in flight; the request then opens a new agent. The next reload
  // must not destroy that agent while the request uses it.
  const [b1, b2] = await startBackends(t, 2);
  b1!.behaviour = { kind: 'delay', ms: 800 };
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const body = Buffer.alloc(20_000, 'u');
  const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(body.subarray(0, 10_000));
    t.after(() => req.destroy());
    void (async () => {
      await waitForGeneration(daemon, 2); // b1 removed while the body is half sent
      req.end(body.subarray(10_000));
    })().catch(reject);
  });
  await waitFor(() => (daemon.status() as { inFlight: number }).inFlight === 1, { what: 'the daemon to be reading the upload' });
  assert.equal(daemon.current.pool.backend(b1!.url)!.traffic.inFlight, 0, 'not yet sent to b1');
  saveInPlace(file, lbYaml([b2!.url]));
  await waitFor(() => b1!.seen.length === 1, { what: 'the upload to reach b1' });
  saveInPlace(file, lbYaml([b2!.url], { extra: 'retry:\n  maxAttempts: 2\n' }));
  await waitForGeneration(daemon, 3);
  const r = await reply;
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'b1\n');
  assert.equal(b1!.seen[0]!.body.length, body.length);
});
