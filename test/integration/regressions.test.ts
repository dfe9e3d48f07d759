/**
 * Regression tests for bugs found in review: each one failed before its fix.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { rawExchange, statusLine } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const port = (url: string) => Number(new URL(url).port);

test('a request target that is not a path gets 400, on plain requests and upgrades, and the daemon keeps serving', async (t) => {
  const bs = await startBackends(t, 1);
  const { url } = await startTestDaemon(t, yamlConfig([bs[0]!.url]));
  const plain = await rawExchange(port(url), ['GET http://[/ HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.match(statusLine(plain.data), /^HTTP\/1\.1 400 /);
  assert.match(plain.data.toString(), /x-yalb-error: YALB_ERR_BAD_REQUEST/i);
  const upgrade = await rawExchange(port(url), ['GET http://[/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n']);
  assert.match(statusLine(upgrade.data), /^HTTP\/1\.1 400 /);
  assert.equal(bs[0]!.hits, 0);
  assert.equal((await request(url)).status, 200);
});

test('clients that abort a download midway never eject a healthy backend', async (t) => {
  const bs = await startBackends(t, 2);
  for (const b of bs) {
    b.behaviour = {
      kind: 'custom',
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk\n');
        const timer = setTimeout(() => res.end('rest\n'), 2000);
        res.on('close', () => clearTimeout(timer));
      },
    };
  }
  const { url, daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), 'passive:\n  consecutiveFailures: 2\n'));
  for (let i = 0; i < 6; i++) {
    await new Promise<void>((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => resolve());
    });
  }
  await waitFor(() => daemon.current.pool.backends.every((b) => b.traffic.inFlight === 0), { what: 'aborted requests settled' });
  for (const b of daemon.current.pool.backends) {
    assert.equal(b.stateName, 'up', `${b.url}: ${b.state.reason}`);
    assert.equal(b.traffic.failures, 0);
  }
});

test('a response that has started is never replayed on another backend, even when the backend resets', async (t) => {
  // Backend A: a raw TCP server that sends headers and 4 of 100 body bytes, then a TCP RST.
  let hitsA = 0;
  const a = net.createServer((sock) => {
    sock.once('data', () => {
      hitsA++;
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nAAAA', () => setTimeout(() => sock.resetAndDestroy(), 30));
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => a.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => a.close(() => r())));
  const [b] = await startBackends(t, 1);
  const aUrl = `http://127.0.0.1:${(a.address() as net.AddressInfo).port}`;
  const { url } = await startTestDaemon(t, yamlConfig([aUrl, b!.url], 'passive:\n  consecutiveFailures: 0\n'));
  // Round robin: the first request goes to A, the second to B. A replay of
  // the first onto B would show as a second hit on B (and a third on A).
  for (let i = 0; i < 2; i++) {
    const r = await rawExchange(port(url), ['GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    assert.ok(r.closed, 'the client connection is closed');
    assert.match(statusLine(r.data), /^HTTP\/1\.1 200 /);
  }
  assert.deepEqual({ hitsA, hitsB: b!.hits }, { hitsA: 1, hitsB: 1 }, 'no GET was sent again after its response started');
});

test('a reload that changes only admin.token applies on the same admin port', async (t) => {
  const bs = await startBackends(t, 1);
  const token1 = 'first-token-of-32-characters-xxx';
  const token2 = 'second-token-of-32-characters-xx';
  const adminYaml = (tok: string, adminPort: number) => `admin:\n  listen: 127.0.0.1:${adminPort}\n  allowRemote: true\n  token: ${tok}\n`;
  const adminPort = await deadPort();
  const { daemon, file } = await startTestDaemon(t, yamlConfig([bs[0]!.url], adminYaml(token1, adminPort)), { watch: false });
  assert.equal(daemon.adminAddress!.port, adminPort);
  writeFileSync(file, yamlConfig([bs[0]!.url], adminYaml(token2, adminPort)));
  const r = await daemon.reload();
  assert.equal(r.ok, true, JSON.stringify(r));
  const admin = `http://127.0.0.1:${adminPort}/status`;
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${token1}` } })).status, 401);
  assert.equal((await request(admin, { headers: { authorization: `Bearer ${token2}` } })).status, 200);
});

test('an invalid trustedProxies entry is a config error with its line and column', async () => {
  const r = parseConfigText('backends:\n  - url: http://127.0.0.1:3031\ntrustedProxies:\n  - 10.0.0.0/8\n  - 10.0.0.0/40\n  - 999.1.1.1\n', 'lb.yaml');
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.issues.map((i) => `${i.line}:${i.col}`), ['5:5', '6:5']);
  assert.match(r.issues[0]!.message, /prefix \/40 is out of range/);
});
