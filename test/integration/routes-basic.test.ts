/**
 * Routes (issue 15): several pools behind one listener, chosen by host and
 * path: exact and wildcard hosts, path prefixes with and without strip,
 * order and the default route, 404 without one; each pool balances with
 * its own strategy; a backend URL in two pools has one health state; /status
 * shows the pools and routes, /metrics the pool label.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { poolTables } from '../../src/cli/commands/status.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, tempDir } from '../helpers/daemon.js';
import { startServer } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const get = (url: string, path: string, host?: string) => request(`${url}${path}`, host ? { headers: { host } } : {});

test('host, wildcard host, path prefix with and without strip, order and default', async (t) => {
  const [web, api, admin, shop] = await startBackends(t, 4);
  const dir = tempDir(t);
  const accessLog = path.join(dir, 'access.log');
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0
accessLog: { path: ${accessLog}, format: json }
backends:
  - url: ${web!.url}
pools:
  api:
    backends: [ { url: "${api!.url}" } ]
  admin:
    backends: [ { url: "${admin!.url}" } ]
  shop:
    backends: [ { url: "${shop!.url}" } ]
routes:
  - match: { pathPrefix: /api/, stripPrefix: true }
    pool: api
  - match: { host: api.example.com }
    pool: api
  - match: { host: "*.shop.example.com" }
    pool: shop
  - match: { pathPrefix: /admin/ }
    pool: admin
  - pool: default
`);
  const cases: Array<[path: string, host: string | undefined, backend: string, seenPath: string]> = [
    ['/api/users?id=7', 'www.example.com', 'b2', '/users?id=7'],
    ['/api/', undefined, 'b2', '/'],
    ['/users', 'API.example.com:3030', 'b2', '/users'],
    ['/x', 'eu.shop.example.com', 'b4', '/x'],
    ['/x', 'shop.example.com', 'b1', '/x'],
    ['/x', 'a.eu.shop.example.com', 'b1', '/x'],
    ['/admin/panel', 'eu.shop.example.com', 'b4', '/admin/panel'],
    ['/admin/panel', 'www.example.com', 'b3', '/admin/panel'],
    ['/api/v1', 'eu.shop.example.com', 'b2', '/v1'],
    ['/', undefined, 'b1', '/'],
  ];
  for (const [target, host, backend, seenPath] of cases) {
    const r = await get(url, target, host);
    assert.equal(r.status, 200, `${host} ${target}`);
    assert.equal(r.headers['x-backend'], backend, `${host} ${target}`);
    const all = [web!, api!, admin!, shop!];
    const b = all.find((x) => x.name === backend)!;
    const seen = b.seen[b.seen.length - 1]!;
    assert.equal(seen.url, seenPath, `${host} ${target} reached the backend as`);
    if (target.startsWith('/api/') && host !== 'API.example.com:3030') assert.equal(seen.headers['x-forwarded-prefix'], '/api');
  }
  // The access log shows the target the client sent, not the stripped one.
  const lines = await waitFor(() => {
    const text = existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : '';
    return text.split('\n').filter(Boolean).length >= cases.length ? text : undefined;
  }, { timeoutMs: 5000 });
  assert.equal((JSON.parse(lines.split('\n')[0]!) as { path: string }).path, '/api/users?id=7');
});

test('no match and no default route → 404 YALB_ERR_NO_ROUTE with a clear body', async (t) => {
  const [web, api] = await startBackends(t, 2);
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0
pools:
  web:
    backends: [ { url: "${web!.url}" } ]
  api:
    backends: [ { url: "${api!.url}" } ]
routes:
  - match: { host: www.example.com }
    pool: web
  - match: { pathPrefix: /api/ }
    pool: api
`);
  assert.equal((await get(url, '/', 'www.example.com')).headers['x-backend'], 'b1');
  assert.equal((await get(url, '/api/x', 'other.example.com')).headers['x-backend'], 'b2');
  const r = await get(url, '/', 'other.example.com');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_NO_ROUTE');
  assert.match(r.body, /^404 no route matches this host and path/);
  assert.equal(web!.hits + api!.hits, 2, 'the 404 reached no backend');
});

test('each pool balances with its own strategy and its own sticky cookie', async (t) => {
  const [w1, w2, a1, a2] = await startBackends(t, 4);
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0
strategy: round-robin
sticky: { cookie: s }
pools:
  web:
    backends: [ { url: "${w1!.url}" }, { url: "${w2!.url}" } ]
  api:
    strategy: hash
    hashKey: header:X-User
    backends: [ { url: "${a1!.url}" }, { url: "${a2!.url}" } ]
routes:
  - match: { pathPrefix: /api/ }
    pool: api
  - pool: web
`);
  // web: round robin alternates (no cookie sent back).
  const web = [];
  for (let i = 0; i < 4; i++) web.push((await get(url, '/')).headers['x-backend']);
  assert.deepEqual(new Set(web), new Set(['b1', 'b2']));
  assert.notEqual(web[0], web[1]);
  // api: the same X-User always lands on the same backend; several users spread.
  const seen = new Map<string, Set<string>>();
  for (let u = 0; u < 12; u++) {
    for (let k = 0; k < 3; k++) {
      const r = await request(`${url}/api/x`, { headers: { 'x-user': `user-${u}` } });
      const s = seen.get(`user-${u}`) ?? new Set();
      s.add(String(r.headers['x-backend']));
      seen.set(`user-${u}`, s);
      if (k === 0) assert.match(String(r.headers['set-cookie']), /^s-api=/, 'the inherited cookie carries the pool name');
    }
  }
  for (const [u, s] of seen) assert.equal(s.size, 1, `${u} stays on one backend`);
  assert.equal(new Set([...seen.values()].map((s) => [...s][0])).size, 2, 'users spread over both api backends');
  const r = await get(url, '/');
  assert.match(String(r.headers['set-cookie']), /^s-web=/);
});

test('one backend URL in two pools: one health state, probed once; /status and /metrics per pool', async (t) => {
  const [shared, only] = await startBackends(t, 2);
  const { daemon, url } = await startTestDaemon(t, `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
healthCheck: { interval: 200ms, timeout: 100ms, path: /health, rise: 1, fall: 1 }
pools:
  web:
    strategy: least-connections
    backends: [ { url: "${shared!.url}" }, { url: "${only!.url}", weight: 2 } ]
  api:
    backends: [ { url: "${shared!.url}", weight: 5 } ]
routes:
  - match: { pathPrefix: /api/ }
    pool: api
  - pool: web
`);
  const web = daemon.current.poolNamed('web')!;
  const api = daemon.current.poolNamed('api')!;
  assert.equal(web.backend(shared!.url)!.state, api.backend(shared!.url)!.state, 'one state object for the URL');
  // Probes: the shared URL is probed by one scheduler only (as often as the other backend, not twice as often).
  const probes = (b: typeof shared) => b!.seen.filter((s) => s.url === '/health').length;
  await waitFor(() => probes(only) >= 6, { timeoutMs: 10_000 });
  const ratio = probes(shared) / probes(only);
  assert.ok(ratio < 1.6, `shared backend probed ${probes(shared)} times vs ${probes(only)}: once per interval, not once per pool`);
  // Down in one pool is down in the other.
  shared!.behaviour = { kind: 'status', status: 500 };
  await waitFor(() => !api.backend(shared!.url)!.available, { timeoutMs: 5000 });
  assert.equal(web.backend(shared!.url)!.available, false);
  assert.equal((await get(url, '/api/x')).status, 503, 'the api pool has no backend left');
  assert.equal((await get(url, '/')).headers['x-backend'], 'b2');
  shared!.behaviour = { kind: 'ok' };
  await waitFor(() => api.backend(shared!.url)!.available, { timeoutMs: 5000 });

  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const status = JSON.parse((await request(`${admin}/status`)).body);
  assert.equal(status.backends.length, 2, 'top-level backends: one entry per URL');
  assert.deepEqual(status.pools.map((p: { name: string; strategy: string; backends: Array<{ url: string; weight: number }> }) => [p.name, p.strategy, p.backends.map((b) => `${b.url} ${b.weight}`)]), [
    ['web', 'least-connections', [`${shared!.url} 1`, `${only!.url} 2`]],
    ['api', 'round-robin', [`${shared!.url} 5`]],
  ]);
  assert.deepEqual(status.routes, [{ match: { pathPrefix: '/api/', stripPrefix: false }, pool: 'api' }, { match: null, pool: 'web' }]);
  const tables = poolTables(status);
  assert.match(tables, /^ROUTE +HOST +PATH PREFIX +STRIP +POOL\n0 +\* +\/api\/ +- +api\n1 +\* +\* +- +web\n/);
  assert.match(tables, /\npool web \(strategy least-connections\)\nBACKEND .*\n.*\n.*\n\npool api \(strategy round-robin\)\nBACKEND/);
  const metrics = (await request(`${admin}/metrics`)).body;
  assert.match(metrics, new RegExp(`yalb_backend_up\\{backend="${shared!.url}",pool="web"\\} 1`));
  assert.match(metrics, new RegExp(`yalb_backend_up\\{backend="${shared!.url}",pool="api"\\} 1`));
});

test('metrics per pool: yalb_pool_requests_total by pool and status class; a backend of the second pool keeps its series; JSON access lines name the pool', async (t) => {
  const [web, api] = await startBackends(t, 2);
  const { daemon, url } = await startTestDaemon(t, `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
pools:
  web: { backends: [ { url: "${web!.url}" } ] }
  api: { backends: [ { url: "${api!.url}" } ] }
routes:
  - { match: { pathPrefix: /api/ }, pool: api }
  - { match: { host: www.example.com }, pool: web }
`);
  for (let i = 0; i < 3; i++) assert.equal((await get(url, '/api/x')).status, 200);
  assert.equal((await get(url, '/', 'www.example.com')).status, 200);
  assert.equal((await get(url, '/', 'nobody.example.com')).status, 404, 'no route');
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const metrics = (await request(`${admin}/metrics`)).body;
  assert.match(metrics, /yalb_pool_requests_total\{pool="api",code_class="2xx"\} 3\n/);
  assert.match(metrics, /yalb_pool_requests_total\{pool="web",code_class="2xx"\} 1\n/);
  // The second pool's backend: its per-backend series survive the commit (retained over every pool).
  assert.match(metrics, new RegExp(`yalb_backend_requests_total\\{backend="${api!.url}",code_class="2xx"\\} 3\\n`));
});

test('X-Forwarded-Prefix is yalb\'s: set by a stripping route, a client\'s dropped elsewhere (with and without routes:)', async (t) => {
  const [b] = await startBackends(t, 1);
  const { url } = await startTestDaemon(t, `listen: 127.0.0.1:0
pools:
  api: { backends: [ { url: "${b!.url}" } ] }
routes:
  - { match: { pathPrefix: /api/, stripPrefix: true }, pool: api }
  - { pool: api }
`);
  const spoof = { 'x-forwarded-prefix': '/admin' };
  await request(`${url}/api/users`, { headers: spoof });
  assert.equal(b!.seen.at(-1)!.url, '/users');
  assert.equal(b!.seen.at(-1)!.headers['x-forwarded-prefix'], '/api');
  await request(`${url}/other`, { headers: spoof });
  assert.equal(b!.seen.at(-1)!.headers['x-forwarded-prefix'], undefined, 'no strip: the client\'s is dropped');
  const [c] = await startBackends(t, 1);
  const one = await startTestDaemon(t, `listen: 127.0.0.1:0\nbackends: [ { url: "${c!.url}" } ]\n`);
  await request(`${one.url}/x`, { headers: spoof });
  assert.equal(c!.seen.at(-1)!.headers['x-forwarded-prefix'], undefined, 'one pool: the client\'s is dropped');
});

test('WebSocket upgrades are routed too: by path with strip, and 404 without a route', async (t) => {
  const upgradedAt: string[] = [];
  const ws = await startServer(t, (_req, res) => { res.writeHead(426); res.end(); }, (req, socket) => {
    upgradedAt.push(req.url ?? '');
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  const [web] = await startBackends(t, 1);
  const { daemon } = await startTestDaemon(t, `listen: 127.0.0.1:0
pools:
  web:
    backends: [ { url: "${web!.url}" } ]
  ws:
    backends: [ { url: "${ws.url}" } ]
routes:
  - match: { pathPrefix: /ws/, stripPrefix: true }
    pool: ws
  - match: { host: www.example.com }
    pool: web
`);
  const upgrade = async (target: string) => {
    const socket = net.connect(daemon.address.port, '127.0.0.1');
    t.after(() => socket.destroy());
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString('latin1'); });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: other.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    return waitFor(() => (got.includes('\r\n\r\n') ? got : undefined), { timeoutMs: 5000, what: `answer to the upgrade of ${target}` });
  };
  assert.match(await upgrade('/ws/chat?room=1'), /^HTTP\/1\.1 101 /);
  assert.deepEqual(upgradedAt, ['/chat?room=1']);
  const refused = await upgrade('/chat');
  assert.match(refused, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(refused, /X-Yalb-Error: YALB_ERR_NO_ROUTE/);
  assert.equal(web!.hits, 0);
});

test('a config with only backends: is one pool named default: /status shows it in pools, with no routes', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, url } = await startTestDaemon(t, `listen: 127.0.0.1:0\nstrategy: least-connections\nbackends:\n  - url: ${b1!.url}\n  - url: ${b2!.url}\n`);
  assert.equal(daemon.current.routes, undefined, 'no route lookup per request');
  assert.equal((await request(url)).status, 200);
  const s = daemon.status();
  assert.deepEqual(s.pools.map((p) => [p.name, p.strategy, p.backends.map((b) => b.url)]), [['default', 'least-connections', [b1!.url, b2!.url]]]);
  assert.deepEqual(s.pools[0]!.backends, s.backends);
  assert.deepEqual(s.routes, []);
  assert.equal(s.strategy, 'least-connections');
});
