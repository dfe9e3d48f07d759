/**
 * Bodies pass byte-identical both ways, whatever their size or framing
 * (buffered below retry.bufferLimit, streamed above it, chunked), and a
 * backend that dies or stalls in the middle of its response body makes the
 * client's connection close instead of hang (http-proxy-3 alone leaves it hanging).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { sha256, startServer } from '../helpers/raw.js';

const MiB = 1024 * 1024;

test('a 1 MiB request body (above the 64 KiB buffer limit, streamed) arrives byte-identical', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const body = randomBytes(MiB);
  const r = await request(url, { method: 'POST', body });
  assert.equal(r.status, 200);
  assert.equal(b.seen[0]!.headers['content-length'], String(MiB));
  assert.equal(b.seen[0]!.body.length, MiB);
  assert.equal(sha256(b.seen[0]!.body), sha256(body));
});

test('a streamed body sent after Expect: 100-continue arrives byte-identical', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const body = randomBytes(200 * 1024);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { expect: '100-continue', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('continue', () => req.end(body));
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('client timeout')));
  });
  assert.equal(status, 200);
  assert.ok(!('expect' in b.seen[0]!.headers), 'the balancer answered the Expect itself');
  assert.equal(sha256(b.seen[0]!.body), sha256(body));
});

test('a small buffered body keeps its length and bytes', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const body = randomBytes(64 * 1024); // exactly the limit: buffered
  const r = await request(url, { method: 'PUT', body });
  assert.equal(r.status, 200);
  assert.equal(sha256(b.seen[0]!.body), sha256(body));
});

test('a chunked request body (no Content-Length) arrives byte-identical', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const parts = Array.from({ length: 40 }, (_, i) => randomBytes(1000 + i * 997));
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
  assert.equal(status, 200);
  assert.equal(b.seen[0]!.headers['transfer-encoding'], 'chunked');
  assert.equal(sha256(b.seen[0]!.body), sha256(Buffer.concat(parts)));
});

test('a chunked body on DELETE, OPTIONS, GET or PATCH reaches the backend as that body, never as a second request', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  // If the framing were lost (content-length: 0 with the bytes still sent), the
  // backend would parse this body as a request of its own on the pooled connection.
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n';
  for (const method of ['DELETE', 'OPTIONS', 'GET', 'PATCH']) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method, agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(smuggled);
    });
    assert.equal(status, 200, method);
    const seen = b.seen.at(-1)!;
    assert.equal(seen.method, method);
    assert.equal(seen.body.toString(), smuggled, method);
  }
  // One more request on the same pooled connection: a smuggled request would have been parsed before it.
  assert.equal((await request(url)).status, 200);
  assert.deepEqual(b.seen.map((s) => `${s.method} ${s.url}`), ['DELETE /', 'OPTIONS /', 'GET /', 'PATCH /', 'GET /']);
});

test('a 1 MiB response, with Content-Length or chunked, arrives byte-identical at the client', async (t) => {
  const payload = randomBytes(MiB);
  const backend = await startServer(t, (req, res) => {
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < payload.length; i += 64 * 1024) res.write(payload.subarray(i, i + 64 * 1024));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
      res.end(payload);
    }
  });
  const { url } = await startTestDaemon(t, yamlConfig([backend.url]));
  const fixed = await request(`${url}/fixed`);
  assert.equal(fixed.status, 200);
  assert.equal(fixed.headers['content-length'], String(MiB));
  assert.equal(sha256(fixed.raw), sha256(payload));
  const chunked = await request(`${url}/chunked`);
  assert.equal(chunked.status, 200);
  assert.equal(chunked.headers['transfer-encoding'], 'chunked');
  assert.equal(sha256(chunked.raw), sha256(payload));
});

/** clientEnd sends a GET and resolves with how the response ended: complete or cut, how many bytes, and when. */
function clientEnd(url: string): Promise<{ status: number; complete: boolean; bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('error', () => {}); // 'aborted' is reported below through `complete`
      res.on('close', () => resolve({ status: res.statusCode ?? 0, complete: res.complete, bytes, ms: performance.now() - start }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('client timeout: the balancer left the connection hanging')));
  });
}

/**
 * PROMPT_MS bounds "the client connection closes" from above: a few ms normally, 10 × timeouts.idle
 * (300 ms) in the stalled case, with seconds to spare for a busy machine. A connection left
 * hanging would run into clientEnd's 5 s limit (and a 10 s timeouts.idle where that is the fallback).
 */
const PROMPT_MS = 3000;

test('a backend that dies mid-body makes the client connection close promptly, long before timeouts.idle (Content-Length and chunked)', async (t) => {
  const backend = await startServer(t, (req, res) => {
    res.writeHead(200, req.url === '/chunked' ? {} : { 'content-length': 100_000 });
    res.write(Buffer.alloc(1000, 0x61), () => setTimeout(() => req.socket.destroy(), 50));
  });
  const { url, daemon } = await startTestDaemon(t, yamlConfig([backend.url], 'timeouts:\n  idle: 10s\n'));
  for (const path of ['/length', '/chunked']) {
    const r = await clientEnd(`${url}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.complete, false, `${path}: the client must see the cut`);
    assert.ok(r.bytes >= 1000 && r.bytes < 100_000, `${path}: ${r.bytes} bytes`);
    assert.ok(r.ms < PROMPT_MS, `${path}: closed after ${r.ms} ms`);
  }
  // A started response is never retried; the balancer still serves.
  assert.equal(daemon.current.pool.backends[0]!.traffic.requests, 2);
});

test('a backend that stalls mid-body is cut after timeouts.idle, and the client connection closes', async (t) => {
  const backend = await startServer(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 100_000 });
    res.write(Buffer.alloc(1000, 0x62)); // then nothing, never ends
  });
  const { url } = await startTestDaemon(t, yamlConfig([backend.url], 'timeouts:\n  idle: 300ms\n'));
  const r = await clientEnd(url);
  assert.equal(r.status, 200);
  assert.equal(r.complete, false);
  assert.equal(r.bytes, 1000);
  assert.ok(r.ms >= 250 && r.ms < PROMPT_MS, `closed after ${r.ms} ms`);
});
