/**
 * Headers at the proxy boundary, seen from a real backend and a real
 * client: X-Forwarded-* appended or replaced per trustedProxies, the
 * client's Host kept, and hop-by-hop headers (the fixed list and whatever
 * Connection names) removed in both directions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';

const spoofed = {
  host: 'shop.example:8443',
  'x-forwarded-for': '1.2.3.4',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
};

test('an untrusted client: X-Forwarded-For/-Proto/-Host are replaced, Host is kept', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const r = await request(url, { headers: spoofed });
  assert.equal(r.status, 200);
  const h = b.seen[0]!.headers;
  assert.equal(h.host, 'shop.example:8443');
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'shop.example:8443');
});

test('a trusted proxy: X-Forwarded-For is appended to, its -Proto and -Host are kept', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  const { url } = await startTestDaemon(t, yamlConfig([b.url], 'trustedProxies: ["127.0.0.0/8"]\n'));
  const r = await request(url, { headers: spoofed });
  assert.equal(r.status, 200);
  const h = b.seen[0]!.headers;
  assert.equal(h.host, 'shop.example:8443');
  assert.equal(h['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-host'], 'evil.example');
  // A trusted request without X-Forwarded-* gets them set.
  await request(url, { headers: { host: 'plain.example' } });
  const h2 = b.seen[1]!.headers;
  assert.equal(h2['x-forwarded-for'], '127.0.0.1');
  assert.equal(h2['x-forwarded-proto'], 'http');
  assert.equal(h2['x-forwarded-host'], 'plain.example');
});

test('hop-by-hop headers are removed both ways, including the ones Connection names', async (t) => {
  const [b] = await startBackends(t, 1) as [TestBackend];
  b.behaviour = {
    kind: 'custom',
    handler: (_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, X-Hop',
        'keep-alive': 'timeout=7, max=99',
        'x-hop': '1',
        'proxy-authenticate': 'Basic realm="x"',
        'x-app': 'kept',
        'content-length': 2,
      });
      res.end('ok');
    },
  };
  const { url } = await startTestDaemon(t, yamlConfig([b.url]));
  const r = await request(url, {
    headers: {
      connection: 'keep-alive, X-Secret',
      'x-secret': '1',
      'keep-alive': 'timeout=30, max=77',
      te: 'trailers',
      'proxy-authorization': 'Basic eDp5',
      'x-kept': 'yes',
    },
  });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok');

  const seen = b.seen[0]!.headers;
  assert.equal(seen['x-kept'], 'yes');
  for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) assert.ok(!(name in seen), `backend saw ${name}`);
  // The backend sees the balancer's own hop: a pooled keep-alive connection, nothing of the client's list.
  assert.equal(seen.connection, 'keep-alive');

  assert.equal(r.headers['x-app'], 'kept');
  for (const name of ['x-hop', 'proxy-authenticate']) assert.ok(!(name in r.headers), `client saw ${name}`);
  assert.equal(r.headers.connection, 'keep-alive');
  // The client may see the balancer's own Keep-Alive hint, never the backend's.
  assert.ok(!String(r.headers['keep-alive'] ?? '').includes('max=99'), `client saw the backend's keep-alive: ${r.headers['keep-alive']}`);
});
