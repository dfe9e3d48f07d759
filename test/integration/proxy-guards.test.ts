/**
 * Requests yalb must not forward as they are: CONNECT (405, never a tunnel),
 * two Host headers (400), a request that loops back through the same yalb
 * (508, at once, instead of circling until memory runs out), and an upload
 * that stops arriving (408 after timeouts.clientIdle) — while one that is
 * slow but steady passes, however long it takes. Runs on each engine.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { rawExchange, statusLine } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

test('CONNECT gets 405 and two Host headers get 400; neither reaches a backend', async (t) => {
  const [b1] = await startBackends(t, 1);
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b1!.url]));
  const port = daemon.address.port;
  const connect = await rawExchange(port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'], 3000);
  assert.equal(statusLine(connect.data), 'HTTP/1.1 405 Method Not Allowed');
  const twoHosts = await rawExchange(port, ['GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'], 3000);
  assert.equal(statusLine(twoHosts.data), 'HTTP/1.1 400 Bad Request');
  assert.match(twoHosts.data.toString(), /x-yalb-error: YALB_ERR_BAD_REQUEST/i);
  assert.equal(b1!.hits, 0, 'nothing was forwarded');
  const ok = await request(url);
  assert.equal(ok.status, 200);
  assert.match(String(b1!.seen[0]?.headers.via), /^1\.1 yalb-[0-9a-f]{8}$/, 'the backend sees this hop in Via');
});

test('a backend that points back at yalb: 508 YALB_ERR_LOOP at once, not a request circling', async (t) => {
  const port = await deadPort();
  // Its first probe runs before it listens (down); the next ones find it up.
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:${port}\nbackends:\n  - url: http://127.0.0.1:${port}\npassive:\n  consecutiveFailures: 0\nhealthCheck:\n  interval: 100ms\n  timeout: 100ms\n  rise: 1\n`);
  await waitFor(async () => (await request(`${url}/x`)).status !== 503, { what: 'the self-pointing backend probed up' });
  const started = Date.now();
  const r = await request(`${url}/x`, { timeoutMs: 5000 });
  assert.equal(r.status, 508);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_LOOP');
  assert.ok(Date.now() - started < 1000, `508 after ${Date.now() - started} ms`);
});

test('timeouts.clientIdle: an upload that stops gets 408; a slow but steady one passes', async (t) => {
  const [b1] = await startBackends(t, 1);
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b1!.url], 'timeouts:\n  clientIdle: 400ms\n'));
  const port = daemon.address.port;
  // Stops after 5 of 100 bytes.
  const t0 = Date.now();
  const stalled = await rawExchange(port, ['POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhello'], 5000);
  assert.equal(statusLine(stalled.data), 'HTTP/1.1 408 Request Timeout', stalled.data.toString());
  assert.match(stalled.data.toString(), /x-yalb-error: YALB_ERR_CLIENT_TIMEOUT/i);
  assert.ok(Date.now() - t0 < 3000, `408 after ${Date.now() - t0} ms`);
  // 20 bytes, one every 150 ms (3 s in all, far beyond clientIdle): never idle long enough to be cut.
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.request(`${url}/steady`, { method: 'POST', headers: { 'content-length': 20 }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', reject);
    let sent = 0;
    const tick = setInterval(() => {
      req.write('x');
      if (++sent === 20) {
        clearInterval(tick);
        req.end();
      }
    }, 150);
    t.after(() => clearInterval(tick));
  });
  assert.equal(body, '200 b1\n');
  assert.equal((await request(url)).status, 200, 'still serving');
});

test('header values with NUL, CR or other control bytes get 400 and never reach a backend; a quote in a path is escaped in the access log', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const file = path.join(dir, 'access.log');
  const { daemon } = await startTestDaemon(t, yamlConfig([b1!.url], `accessLog:\n  path: ${file}\n  format: combined\n`), { dir });
  const port = daemon.address.port;
  for (const v of ['a\x00b', 'a\rb', 'a\x01b', 'a\x7fb']) {
    const r = await rawExchange(port, [`GET / HTTP/1.1\r\nHost: x\r\nX-T: ${v}\r\n\r\n`], 3000);
    assert.equal(statusLine(r.data), 'HTTP/1.1 400 Bad Request', JSON.stringify(v));
  }
  assert.equal(b1!.hits, 0, 'nothing was forwarded');
  const r = await rawExchange(port, ['GET /a"b HTTP/1.1\r\nHost: x\r\nUser-Agent: evil" 200 0 "x\r\nConnection: close\r\n\r\n'], 3000);
  assert.equal(statusLine(r.data), 'HTTP/1.1 200 OK');
  const line = await waitFor(() => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').find((l) => l.includes('/a')) : undefined), { what: 'the access line' });
  assert.match(line, /"GET \/a\\"b HTTP\/1\.1"/);
  assert.match(line, /"evil\\" 200 0 \\"x"/);
});

test('the request target reaches the backend exactly as the client sent it (no decoding, no dot-segment removal)', async (t) => {
  const [b1] = await startBackends(t, 1);
  const { daemon } = await startTestDaemon(t, yamlConfig([b1!.url]));
  const port = daemon.address.port;
  const targets = ['/public/%2e%2e/admin', '/static\\..\\admin/users', '/\\evil.example/admin', '/a/b/../../admin', '/x/./y?q=%2F..%2F&r=1#frag', '//double//slash', '/%7Euser/%zz'];
  for (const target of targets) {
    const before = b1!.seen.length;
    const r = await rawExchange(port, [`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], 3000);
    assert.equal(statusLine(r.data), 'HTTP/1.1 200 OK', target);
    assert.equal(b1!.seen[before]?.url, target, `${target} reached the backend as ${b1!.seen[before]?.url}`);
  }
});

test('a backend answering 101 to a request that asked for no upgrade: 502 at once, counted as that backend\'s failure', async (t) => {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { srv.close(() => r()); }));
  const backend = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  const { url, daemon } = await startTestDaemon(t, yamlConfig([backend], 'passive:\n  consecutiveFailures: 0\n'));
  const t0 = Date.now();
  const r = await request(url, { timeoutMs: 5000 });
  assert.equal(r.status, 502);
  assert.ok(Date.now() - t0 < 3000, `answered after ${Date.now() - t0} ms`);
  assert.ok((daemon.status().backends[0]?.failures ?? 0) >= 1, 'a failure of that backend');
});
