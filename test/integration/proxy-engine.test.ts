/**
 * The engine seam over real HTTP: the suite runs against the engine it was
 * asked for (YALB_TEST_ENGINE; `npm test` runs the proxy's integration tests
 * once per engine), the backend's header names keep their case and repeated
 * headers stay repeated, and a reload switches the engine without a failed
 * request.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, TEST_ENGINE, yamlConfig } from '../helpers/daemon.js';
import { waitForGeneration } from '../helpers/reload.js';

/** rawHeaders sends one GET and returns the response's raw header list. */
function rawHeaders(url: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.rawHeaders));
    }).on('error', reject);
  });
}

test('the daemon serves with the engine the suite asked for (undici unless YALB_TEST_ENGINE says otherwise)', async (t) => {
  const [b] = await startBackends(t, 1);
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b!.url]));
  assert.equal(daemon.status().engine, TEST_ENGINE ?? 'undici');
  assert.equal((await request(url)).status, 200);
});

test('response headers: repeated Set-Cookie kept, hop-by-hop dropped; undici keeps the backend\'s name case', async (t) => {
  const [b] = await startBackends(t, 1);
  b!.behaviour = {
    kind: 'custom',
    handler: (_req, res) => {
      res.writeHead(200, ['X-Backend-Case', 'Kept', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Keep-Alive', 'timeout=5', 'X-Drop', 'x', 'Connection', 'X-Drop', 'Content-Length', '2']);
      res.end('ok');
    },
  };
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b!.url]));
  const raw = await rawHeaders(url);
  const names = raw.filter((_, i) => i % 2 === 0);
  const values = (n: string) => raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === n);
  assert.deepEqual(values('set-cookie'), ['a=1', 'b=2']);
  assert.deepEqual(values('x-drop'), [], 'a header the backend\'s Connection names is hop-by-hop');
  assert.deepEqual(values('keep-alive'), []);
  assert.deepEqual(values('x-backend-case'), ['Kept']);
  if (daemon.status().engine === 'undici') assert.ok(names.includes('X-Backend-Case'), `names as sent: ${names.join(' ')}`);
});

test('a reload switches the engine; requests before, during and after it all succeed', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const first = TEST_ENGINE ?? 'undici';
  const other = first === 'undici' ? 'http-proxy-3' : 'undici';
  const yaml = (engine: string) => `engine: ${engine}\n${yamlConfig([b1!.url, b2!.url])}`;
  const { daemon, url, file } = await startTestDaemon(t, yaml(first));
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  for (let i = 0; i < 5; i++) assert.equal((await request(url, { agent })).status, 200);
  writeFileSync(file, yaml(other));
  const during = Array.from({ length: 20 }, () => request(url, { agent }));
  await waitForGeneration(daemon, 2);
  assert.deepEqual((await Promise.all(during)).map((r) => r.status), Array(20).fill(200));
  assert.equal(daemon.status().engine, other);
  assert.match(daemon.reloader.lastReload?.ok ? daemon.reloader.lastReload.changes.join(', ') : '', new RegExp(`engine ${first} → ${other}`));
  for (let i = 0; i < 5; i++) assert.equal((await request(url, { agent })).status, 200);
});
