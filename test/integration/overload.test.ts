/**
 * Overload protection: backends[].maxConnections caps what each backend has
 * in flight (a full one is skipped by the strategy), and queue: lets
 * requests wait for a slot when every backend is full — beyond queue.size or
 * queue.timeout they get 503 with Retry-After and YALB_ERR_QUEUE_FULL /
 * YALB_ERR_QUEUE_TIMEOUT. Visible in /status and /metrics.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, type Reply } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

/** slowBackends answer after `ms` and record the most requests each had at once. */
async function slowBackends(t: TestContext, n: number, ms: number): Promise<{ bs: TestBackend[]; peak: number[] }> {
  const bs = await startBackends(t, n);
  const peak = bs.map(() => 0);
  const timers = new Set<NodeJS.Timeout>();
  t.after(() => timers.forEach(clearTimeout));
  bs.forEach((b, i) => {
    let now = 0;
    b.behaviour = {
      kind: 'custom',
      handler: (_req, res) => {
        now++;
        peak[i] = Math.max(peak[i] as number, now);
        const timer = setTimeout(() => { timers.delete(timer); now--; res.end(`${b.name}\n`); }, ms);
        timers.add(timer);
      },
    };
  });
  return { bs, peak };
}

function config(bs: TestBackend[], max: number, queue: string): string {
  return `listen: 127.0.0.1:0\nbackends:\n${bs.map((b) => `  - url: ${b.url}\n    maxConnections: ${max}\n`).join('')}${queue}passive:\n  consecutiveFailures: 0\n`;
}

const burst = (url: string, n: number): Promise<Reply[]> => Promise.all(Array.from({ length: n }, () => request(url, { timeoutMs: 10_000 })));

test('maxConnections caps each backend; with no queue the overflow gets 503 YALB_ERR_QUEUE_FULL with Retry-After', async (t) => {
  const { bs, peak } = await slowBackends(t, 2, 300);
  const { url } = await startTestDaemon(t, config(bs, 2, ''));
  const replies = await burst(url, 6);
  const ok = replies.filter((r) => r.status === 200);
  const full = replies.filter((r) => r.status === 503);
  assert.equal(ok.length, 4, 'two backends × maxConnections 2');
  assert.equal(full.length, 2);
  for (const r of full) {
    assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_QUEUE_FULL');
    assert.equal(r.headers['retry-after'], '1');
  }
  assert.deepEqual(peak, [2, 2]);
});

test('queue: requests wait for a slot and are all served, never more than maxConnections at a backend', async (t) => {
  const { bs, peak } = await slowBackends(t, 2, 200);
  const { url, daemon } = await startTestDaemon(t, config(bs, 2, 'queue:\n  size: 20\n  timeout: 5s\n'));
  const pending = burst(url, 12);
  await waitFor(() => daemon.status().queue.length > 0, { what: 'requests queued' });
  const replies = await pending;
  assert.deepEqual(replies.map((r) => r.status), new Array(12).fill(200));
  assert.deepEqual(peak, [2, 2]);
  const q = daemon.status().queue;
  assert.deepEqual(q, { size: 20, length: 0, full: 0, timedOut: 0 });
});

test('queue: beyond queue.timeout → 503 YALB_ERR_QUEUE_TIMEOUT; beyond queue.size → YALB_ERR_QUEUE_FULL; counted in /status and /metrics', async (t) => {
  const { bs } = await slowBackends(t, 1, 1500);
  const { url, daemon } = await startTestDaemon(t, config(bs, 1, 'queue:\n  size: 2\n  timeout: 300ms\n'));
  const replies = await burst(url, 5);
  const codes = replies.map((r) => String(r.headers['x-yalb-error'] ?? r.status)).sort();
  assert.deepEqual(codes, ['200', 'YALB_ERR_QUEUE_FULL', 'YALB_ERR_QUEUE_FULL', 'YALB_ERR_QUEUE_TIMEOUT', 'YALB_ERR_QUEUE_TIMEOUT']);
  const q = daemon.status().queue;
  assert.deepEqual({ full: q.full, timedOut: q.timedOut, length: q.length }, { full: 2, timedOut: 2, length: 0 });
  const text = await daemon.metrics.text();
  assert.match(text, /^yalb_queue_rejected_total\{reason="full"\} 2$/m);
  assert.match(text, /^yalb_queue_rejected_total\{reason="timeout"\} 2$/m);
  assert.match(text, /^yalb_queue_length 0$/m);
});

test('limits.maxConnections: connections beyond it wait (unread) and are served in turn as others close, none refused', async (t) => {
  const { bs, peak } = await slowBackends(t, 1, 250);
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0\nbackends:\n  - url: ${bs[0]!.url}\nlimits:\n  maxConnections: 1\n`);
  const t0 = performance.now();
  const done: number[] = [];
  const replies = await Promise.all([0, 1, 2].map(() => request(url, { timeoutMs: 10_000 }).then((r) => { done.push(performance.now() - t0); return r; })));
  assert.deepEqual(replies.map((r) => r.status), [200, 200, 200]);
  assert.equal(peak[0], 1, 'one connection served at a time');
  done.sort((a, b) => a - b);
  assert.ok((done[2] as number) >= 700, `the third waited for two others: done at ${done.map(Math.round).join(', ')} ms`);
});

test('limits.maxConnections: a stop is not held up by connections still waiting for a slot', async (t) => {
  const [b1] = await startBackends(t, 1);
  const { url, daemon } = await startTestDaemon(t, `listen: 127.0.0.1:0\nbackends:\n  - url: ${b1!.url}\nlimits:\n  maxConnections: 1\n`, { drainMs: 500 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  assert.equal((await request(url, { agent })).status, 200); // holds the one slot, idle
  const waiting = net.connect(daemon.address.port, '127.0.0.1'); // waits, sends nothing
  t.after(() => waiting.destroy());
  await new Promise((r) => waiting.once('connect', r));
  const t0 = performance.now();
  await daemon.stop();
  assert.ok(performance.now() - t0 < 3000, `stopped in ${Math.round(performance.now() - t0)} ms`);
});

test('maxConnections: 0 and limits.maxConnections: 0 mean no limit (as the contract writes them)', async (t) => {
  const { bs, peak } = await slowBackends(t, 1, 200);
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0\nbackends:\n  - url: ${bs[0]!.url}\n    maxConnections: 0\nlimits:\n  maxConnections: 0\n`);
  const replies = await burst(url, 6);
  assert.deepEqual(replies.map((r) => r.status), new Array(6).fill(200));
  assert.equal(peak[0], 6, 'all six at once');
});
