/**
 * Issue 14: yalb terminates HTTPS. Certificates are made by openssl at test
 * time; every check is from the client's view (the certificate a real TLS
 * handshake gets: subject and SHA-256 fingerprint), with real backends.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { hasOpenssl, makeCert, peerCertificate } from '../helpers/certs.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install -y openssl)';

/** httpsGet sends one GET over HTTPS to 127.0.0.1 (certificate not checked: these are self-signed), with SNI `servername`. */
function httpsGet(port: number, path: string, headers: Record<string, string> = {}, servername?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, headers, rejectUnauthorized: false, agent: false, ...(servername ? { servername } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS on listen: the client gets the configured certificate; X-Forwarded-Proto https and -Port reach the backend; /status and /metrics show the certificate', { skip }, async (t) => {
  const dir = tempDir(t);
  const site = makeCert(dir, 'site', ['site.test', 'www.site.test']);
  const [b] = await startBackends(t, 1);
  const { daemon } = await startTestDaemon(t, yamlConfig([b!.url], `tls:\n  cert: ${site.cert}\n  key: ${site.key}\nadmin:\n  listen: 127.0.0.1:0\nsticky:\n  cookie: yalb_s\n`), { dir });
  const port = daemon.address.port;

  const seen = await peerCertificate(port, 'site.test');
  assert.equal(seen.subject, 'site.test');
  assert.equal(seen.fingerprint, site.fingerprint);
  assert.equal((await peerCertificate(port)).fingerprint, site.fingerprint, 'a client without SNI gets the default certificate');

  const r = await httpsGet(port, '/hello', { host: 'site.test' }, 'site.test');
  assert.equal(r.status, 200);
  const h = b!.seen.at(-1)!.headers;
  assert.equal(h['x-forwarded-proto'], 'https');
  assert.equal(h['x-forwarded-port'], String(port));
  assert.equal(h['x-forwarded-host'], 'site.test');
  assert.match(String(r.headers['set-cookie']), /yalb_s=.*; Secure/, 'the sticky cookie is Secure over HTTPS');

  // Plain HTTP to the HTTPS port is refused, not served.
  await assert.rejects(request(`http://127.0.0.1:${port}/`, { timeoutMs: 3000 }));

  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const status = JSON.parse((await request(`${admin}/status`)).body) as { certificates: Array<Record<string, unknown>> };
  assert.equal(status.certificates.length, 1);
  const c = status.certificates[0]!;
  assert.equal(c.file, site.cert);
  assert.equal(c.fingerprint, site.fingerprint);
  assert.deepEqual(c.names, ['site.test', 'www.site.test']);
  assert.match(String(c.subject), /CN=site\.test/);
  assert.ok(Date.parse(String(c.notAfter)) > Date.now());
  assert.deepEqual((c.lastLoad as { ok: boolean }).ok, true);
  const metrics = (await request(`${admin}/metrics`)).body;
  const m = /yalb_tls_certificate_expiry_timestamp_seconds\{name="site\.test"\} (\d+)/.exec(metrics);
  assert.ok(m, metrics.split('\n').filter((l) => l.includes('tls')).join('\n'));
  assert.ok(Math.abs(Number(m[1]) * 1000 - Date.parse(String(c.notAfter))) < 1000);
});

test('SNI picks the certificate whose names match (exact, then RFC 6125 wildcard) and falls back to the default', { skip }, async (t) => {
  const dir = tempDir(t);
  const main = makeCert(dir, 'main', ['main.test']);
  const api = makeCert(dir, 'api', ['api.test']);
  const wild = makeCert(dir, 'wild', ['*.apps.test']);
  const [b] = await startBackends(t, 1);
  // limits.maxConnections wraps the listener's connection handler: handshakes go through it too.
  const yaml = yamlConfig([b!.url], `limits:\n  maxConnections: 2\ntls:\n  cert: ${main.cert}\n  key: ${main.key}\n  certificates:\n    - { cert: ${api.cert}, key: ${api.key} }\n    - { cert: ${wild.cert}, key: ${wild.key} }\n`);
  const { daemon } = await startTestDaemon(t, yaml, { dir });
  const port = daemon.address.port;
  assert.equal((await peerCertificate(port, 'api.test')).fingerprint, api.fingerprint);
  assert.equal((await peerCertificate(port, 'API.Test')).fingerprint, api.fingerprint, 'names are case-insensitive');
  assert.equal((await peerCertificate(port, 'one.apps.test')).fingerprint, wild.fingerprint);
  assert.equal((await peerCertificate(port, 'a.b.apps.test')).fingerprint, main.fingerprint, 'a wildcard covers one label only');
  assert.equal((await peerCertificate(port, 'apps.test')).fingerprint, main.fingerprint, 'a wildcard does not cover the apex');
  assert.equal((await peerCertificate(port, 'main.test')).fingerprint, main.fingerprint);
  assert.equal((await peerCertificate(port, 'unknown.test')).fingerprint, main.fingerprint, 'no match: the default certificate');
  assert.equal((await peerCertificate(port)).fingerprint, main.fingerprint, 'no SNI: the default certificate');
  assert.equal((await httpsGet(port, '/', { host: 'api.test' }, 'api.test')).status, 200);
});

/** startRedirecting starts one backend and a daemon on HTTPS (site.test) with tls.redirectHttp on a free port. */
async function startRedirecting(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const site = makeCert(dir, 'site', ['site.test']);
  const [b] = await startBackends(t, 1);
  const redirect = await deadPort();
  const { daemon } = await startTestDaemon(t, yamlConfig([b!.url], `tls:\n  cert: ${site.cert}\n  key: ${site.key}\n  redirectHttp: 127.0.0.1:${redirect}\n`), { dir });
  const port = daemon.address.port;
  return { daemon, b: b!, redirect, port };
}

test('a stop with a request in flight: the redirect listener keeps answering 308 (the HTTPS listener already closed) and the daemon stops cleanly', { skip }, async (t) => {
  const { daemon, b, redirect, port } = await startRedirecting(t);
  b!.behaviour = { kind: 'stall' };
  const pending = httpsGet(port, '/slow').catch(() => undefined);
  await waitFor(() => b!.seen.some((s) => s.url === '/slow'), { what: 'the request reached the backend' });
  const stopped = daemon.stop();
  // address() is null once the HTTPS listener has closed (the drain goes on).
  await waitFor(() => ((daemon.address as unknown) == null ? true : undefined), { what: 'the HTTPS listener closed' });
  const r = await request(`http://127.0.0.1:${redirect}/x`, { headers: { host: 'site.test' } });
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://site.test:${port}/x`);
  b!.behaviour = { kind: 'ok' };
  await b!.stop();
  await pending;
  await stopped;
});

test('tls.certificates alone: the first pair is the default', { skip }, async (t) => {
  const dir = tempDir(t);
  const first = makeCert(dir, 'first', ['first.test']);
  const second = makeCert(dir, 'second', ['second.test']);
  const [b] = await startBackends(t, 1);
  const yaml = yamlConfig([b!.url], `tls:\n  certificates:\n    - { cert: ${first.cert}, key: ${first.key} }\n    - { cert: ${second.cert}, key: ${second.key} }\n`);
  const { daemon } = await startTestDaemon(t, yaml, { dir });
  assert.equal((await peerCertificate(daemon.address.port, 'second.test')).fingerprint, second.fingerprint);
  assert.equal((await peerCertificate(daemon.address.port, 'other.test')).fingerprint, first.fingerprint);
});

test('tls.redirectHttp answers 308 to the same host and path on HTTPS; ACME challenges go to the pool', { skip }, async (t) => {
  const { daemon, b, redirect, port } = await startRedirecting(t);
  const plain = `http://127.0.0.1:${redirect}`;

  const r = await request(`${plain}/shop/cart?id=7&x=%2F`, { method: 'POST', headers: { host: 'site.test:8080' }, body: 'x' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://site.test:${port}/shop/cart?id=7&x=%2F`);
  assert.equal(b!.hits, 0, 'a redirect never reaches a backend');

  const v6 = await request(`${plain}/a`, { headers: { host: '[::1]:80' } });
  assert.equal(v6.headers.location, `https://[::1]:${port}/a`);
  assert.equal((await request(`${plain}/a`, { headers: { host: 'bad host"' } })).status, 400);

  const acme = await request(`${plain}/.well-known/acme-challenge/tok3n`, { headers: { host: 'site.test' } });
  assert.equal(acme.status, 200);
  assert.equal(b!.hits, 1);
  assert.equal(b!.seen.at(-1)!.url, '/.well-known/acme-challenge/tok3n');
  assert.equal(b!.seen.at(-1)!.headers['x-forwarded-proto'], 'http');
  // Only a challenge token is proxied over plain HTTP: a path that climbs out of the prefix is redirected.
  const climb = await request(`${plain}/.well-known/acme-challenge/../../admin`, { headers: { host: 'site.test' } });
  assert.equal(climb.status, 308);
  assert.equal(b!.hits, 1, 'not proxied');
});
