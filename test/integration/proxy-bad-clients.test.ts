/**
 * Bad clients get 400 / 408 / 431 and never hurt the balancer (CONTRACT.md,
 * Behaviour: proxying): a malformed request line, oversized headers, headers
 * that never finish, and uploads cut short. After each, a normal request
 * still gets 200.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test, type TestContext } from 'node:test';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { rawExchange, startServer, statusLine } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

/** uploadTracker is a backend that reads bodies and records how each request ended. */
async function uploadTracker(t: TestContext) {
  const started: Array<{ url: string; bytes: number }> = [];
  const ends: Array<{ url: string; bytes: number; complete: boolean }> = [];
  const backend = await startServer(t, (req, res) => {
    const seen = { url: req.url ?? '', bytes: 0 };
    started.push(seen);
    req.on('data', (c: Buffer) => { seen.bytes += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`got ${seen.bytes}\n`);
    });
    req.on('close', () => ends.push({ ...seen, complete: req.complete }));
  });
  return { backend, started, ends };
}

async function daemonWithTracker(t: TestContext) {
  const tracker = await uploadTracker(t);
  const d = await startTestDaemon(t, yamlConfig([tracker.backend.url]), { listener: { headersTimeoutMs: 300 } });
  const stillServes = async () => {
    const r = await request(`${d.url}/after`);
    assert.equal(r.status, 200, r.body);
  };
  return { ...tracker, ...d, port: d.daemon.address.port, stillServes };
}

test('a malformed request line or header line gets 400 and the connection is closed', async (t) => {
  const { port, stillServes, ends } = await daemonWithTracker(t);
  for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1 extra\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header\r\n\r\n']) {
    const r = await rawExchange(port, [bad], 3000);
    assert.equal(r.closed, true, JSON.stringify(bad));
    assert.equal(statusLine(r.data), 'HTTP/1.1 400 Bad Request', JSON.stringify(bad));
  }
  assert.equal(ends.length, 0, 'nothing reached the backend');
  await stillServes();
});

test('headers above 16 KiB get 431', async (t) => {
  const { port, stillServes, ends } = await daemonWithTracker(t);
  const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
  const r = await rawExchange(port, [big], 3000);
  assert.equal(r.closed, true);
  assert.equal(statusLine(r.data), 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.equal(ends.length, 0);
  await stillServes();
});

test('headers that never finish get 408 soon after headersTimeout', async (t) => {
  const { port, stillServes, ends } = await daemonWithTracker(t);
  // Node checks headersTimeout on a timer (connectionsCheckingInterval): allow it a few seconds.
  const r = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '], 5000);
  assert.equal(r.closed, true, `still open after ${r.ms} ms`);
  assert.equal(statusLine(r.data), 'HTTP/1.1 408 Request Timeout');
  assert.ok(r.ms >= 250 && r.ms < 3000, `408 after ${r.ms} ms`);
  assert.equal(ends.length, 0);
  await stillServes();
});

test('an upload cut short by the client aborts the backend request (streamed body)', async (t) => {
  const { url, stillServes, started, ends, daemon } = await daemonWithTracker(t);
  const declared = 1024 * 1024; // above the 64 KiB buffer limit: streams to the backend as it comes
  const req = http.request(`${url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': declared } });
  req.on('error', () => {});
  req.write(Buffer.alloc(declared / 2, 0x61));
  // Let the backend receive part of it, then cut the client.
  await waitFor(() => started.some((s) => s.url === '/upload' && s.bytes > 0), { what: 'body streaming to the backend' });
  req.destroy();
  const end = await waitFor(() => ends.find((e) => e.url === '/upload'), { what: 'backend request closed', timeoutMs: 3000 });
  assert.equal(end.complete, false, 'the backend request must be aborted, not completed');
  assert.ok(end.bytes < declared, `backend read ${end.bytes} bytes`);
  await stillServes();
  assert.equal(daemon.current.pool.backends[0]!.traffic.failures, 0, 'a client abort is not a backend failure');
});

test('a small upload cut short never reaches the backend (it was being buffered)', async (t) => {
  const { url, stillServes, ends, daemon } = await daemonWithTracker(t);
  const req = http.request(`${url}/small`, { method: 'POST', agent: false, headers: { 'content-length': 1000 } });
  req.on('error', () => {});
  req.write(Buffer.alloc(500, 0x62));
  await waitFor(() => (daemon.status() as { inFlight: number }).inFlight === 1, { what: 'request in flight' });
  req.destroy();
  await waitFor(() => (daemon.status() as { inFlight: number }).inFlight === 0, { what: 'request ended' });
  assert.equal(ends.length, 0);
  await stillServes();
  assert.equal(daemon.current.pool.backends[0]!.traffic.failures, 0);
});
