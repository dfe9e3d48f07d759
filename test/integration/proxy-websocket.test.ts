/**
 * WebSocket upgrades pass through the balancer (CONTRACT.md, Behaviour:
 * proxying). No ws dependency: the client writes the RFC 6455 handshake and
 * one masked text frame by hand over net.Socket; the backend answers 101 and
 * echoes raw bytes, so the client must read back exactly what it sent.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { startServer } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptOf = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

/** maskedTextFrame builds one final, masked text frame (payload < 126 bytes). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** unmaskText decodes a frame built by maskedTextFrame. */
function unmaskText(frame: Buffer): string {
  const len = frame[1]! & 0x7f;
  const mask = frame.subarray(2, 6);
  return Buffer.from(frame.subarray(6, 6 + len).map((byte, i) => byte ^ mask[i % 4]!)).toString();
}

test('a WebSocket handshake and a text frame pass through and are echoed back byte for byte', async (t) => {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const backend = await startServer(t, (_req, res) => {
    res.writeHead(426);
    res.end();
  }, (req, socket, head) => {
    upgrades.push(req.headers);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + `Sec-WebSocket-Accept: ${acceptOf(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.pipe(socket); // echo raw bytes
  });
  const { daemon } = await startTestDaemon(t, yamlConfig([backend.url]));

  const key = randomBytes(16).toString('base64');
  const socket = net.connect(daemon.address.port, '127.0.0.1');
  t.after(() => socket.destroy());
  let got = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => { got = Buffer.concat([got, c]); });
  socket.write('GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n`);

  const headEnd = await waitFor(() => { const i = got.indexOf('\r\n\r\n'); return i >= 0 ? i + 4 : 0; }, { what: '101 response head', timeoutMs: 3000 });
  const head = got.subarray(0, headEnd).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(head, new RegExp(`\\r\\nsec-websocket-accept: ${acceptOf(key).replace(/[+/]/g, '\\$&')}\\r\\n`, 'i'));
  got = got.subarray(headEnd);

  const frame = maskedTextFrame('hello through yalb');
  socket.write(frame);
  await waitFor(() => got.length >= frame.length, { what: 'echoed frame', timeoutMs: 3000 });
  assert.deepEqual(got.subarray(0, frame.length), frame);
  assert.equal(unmaskText(got), 'hello through yalb');

  // The backend saw a proper upgrade request with the balancer's forwarding headers.
  const h = upgrades[0]!;
  assert.equal(h.host, 'ws.example');
  assert.equal(h.upgrade, 'websocket');
  assert.match(String(h.connection), /upgrade/i);
  assert.equal(h['sec-websocket-key'], key);
  assert.equal(h['x-forwarded-for'], '127.0.0.1');

  // Closing the client ends the tunnel; the balancer no longer counts it in flight.
  assert.equal((daemon.status() as { inFlight: number }).inFlight, 1);
  socket.end();
  await waitFor(() => (daemon.status() as { inFlight: number }).inFlight === 0, { what: 'tunnel closed', timeoutMs: 3000 });
});

test('an upgrade with no backend up is answered 503 and closed', async (t) => {
  const backend = await startServer(t, (_req, res) => res.end());
  const { daemon } = await startTestDaemon(t, yamlConfig([backend.url]));
  daemon.current.pool.backends[0]!.state.health = 'down';
  const socket = net.connect(daemon.address.port, '127.0.0.1');
  t.after(() => socket.destroy());
  let got = '';
  let closed = false;
  socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
  socket.on('close', () => { closed = true; });
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a2V5a2V5a2V5a2V5a2V5aw==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await waitFor(() => closed, { what: 'connection closed', timeoutMs: 3000 });
  assert.match(got, /^HTTP\/1\.1 503 /);
  assert.match(got, /X-Yalb-Error: YALB_ERR_NO_BACKEND/i);
});

test('an upgrade whose backend refuses the connection goes to the next backend (the client never notices); none left → 502', async (t) => {
  const backend = await startServer(t, (_req, res) => res.end(), (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
      + `Sec-WebSocket-Accept: ${acceptOf(String(req.headers['sec-websocket-key']))}\r\n\r\n`);
    socket.pipe(socket);
  });
  const dead = await deadPort();
  // The dead backend is listed first and still counts as up (probes every minute, none failed yet).
  const { daemon } = await startTestDaemon(t, `listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:${dead}\n  - url: ${backend.url}\nhealthCheck:\n  interval: 1m\n  timeout: 1s\n`);
  daemon.current.pool.backends[0]!.state.health = 'up';
  const handshake = async (): Promise<string> => {
    const socket = net.connect(daemon.address.port, '127.0.0.1');
    t.after(() => socket.destroy());
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
    socket.write(`GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor(() => got.includes('\r\n\r\n'), { what: 'a response head', timeoutMs: 5000 });
    socket.destroy();
    return got.split('\r\n')[0] as string;
  };
  // Round robin sends one of the first two to the dead backend: both succeed.
  assert.equal(await handshake(), 'HTTP/1.1 101 Switching Protocols');
  daemon.current.pool.backends[0]!.state.health = 'up';
  assert.equal(await handshake(), 'HTTP/1.1 101 Switching Protocols');
  // Only the dead one left: 502.
  daemon.current.pool.backends[1]!.state.health = 'down';
  daemon.current.pool.backends[0]!.state.health = 'up';
  assert.match(await handshake(), /^HTTP\/1\.1 502 /);
});

test('an upgrade other than a WebSocket GET (h2c, a POST with Upgrade) gets 400 and touches no backend', async (t) => {
  let hits = 0;
  const backend = await startServer(t, (_req, res) => { hits++; res.end(); }, (_req, socket) => { hits++; socket.destroy(); });
  const { daemon } = await startTestDaemon(t, yamlConfig([backend.url]));
  for (const head of [
    'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
    'POST /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n',
  ]) {
    const socket = net.connect(daemon.address.port, '127.0.0.1');
    t.after(() => socket.destroy());
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
    socket.write(head);
    await waitFor(() => got.includes('\r\n\r\n'), { what: 'a response', timeoutMs: 3000 });
    assert.match(got, /^HTTP\/1\.1 400 /);
  }
  assert.equal(hits, 0);
});
