/**
 * Issue 14: a certificate renewed on disk is served on the next handshake,
 * with no reload and no dropped connection, however the files are replaced
 * (in place, by rename, certbot's live/ → archive/ symlinks, a Kubernetes
 * Secret's ..data swap); a bad pair keeps the one being served and says
 * why in /status. Certificates are made by openssl at test time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { startBackends } from '../helpers/backend.js';
import { hasOpenssl, makeCert, peerCertificate, type Pem } from '../helpers/certs.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install -y openssl)';

/** A keep-alive client: one socket, reused for every request. */
function keepAliveClient(t: TestContext, port: number) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  t.after(() => agent.destroy());
  return (): Promise<{ status: number; reused: boolean; fingerprint: string }> => new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', agent, servername: 'site.test' }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, fingerprint }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

type Style = (live: { cert: string; key: string }, next: Pem, dir: string) => void;

/**
 * renewal starts yalb on the pair `live` (as `setup` lays it out), replaces
 * it with a new certificate by `swap`, and checks: a new handshake gets the
 * new certificate within 1 s, the keep-alive connection opened before keeps
 * working (on the old certificate).
 */
async function renewal(t: TestContext, setup: (dir: string, first: Pem) => { cert: string; key: string }, swap: Style, workers = 1): Promise<void> {
  const dir = tempDir(t);
  const first = makeCert(dir, 'first', ['site.test']);
  const next = makeCert(dir, 'next', ['site.test']);
  const live = setup(dir, first);
  const [b] = await startBackends(t, 1);
  const { daemon } = await startTestDaemon(t, yamlConfig([b!.url], `workers: ${workers}\ntls:\n  cert: ${live.cert}\n  key: ${live.key}\nadmin:\n  listen: 127.0.0.1:0\n`), { dir });
  const port = daemon.address.port;
  assert.equal((await peerCertificate(port, 'site.test')).fingerprint, first.fingerprint);
  const client = keepAliveClient(t, port);
  const before = await client();
  assert.equal(before.status, 200);
  assert.equal(before.fingerprint, first.fingerprint);

  const t0 = Date.now();
  swap(live, next, dir);
  // A handshake started 1 s after the swap must get the new certificate
  // (how long the handshake itself takes on a loaded machine is not
  // counted). Several at a time: with workers, connections are spread.
  let startedAt = 0;
  await waitFor(async () => {
    startedAt = Date.now();
    const seen = await Promise.all([1, 2, 3, 4].map(() => peerCertificate(port, 'site.test')));
    return seen.every((s) => s.fingerprint === next.fingerprint);
  }, { timeoutMs: 10_000, intervalMs: 10, what: 'the new certificate on new handshakes' });
  assert.ok(startedAt - t0 <= 1000, `the new certificate was first served to handshakes started ${startedAt - t0} ms after the swap (limit 1000 ms)`);
  t.diagnostic(`new certificate served to handshakes started ${startedAt - t0} ms after the swap`);

  const after = await client();
  assert.equal(after.status, 200);
  assert.equal(after.reused, true, 'the keep-alive connection opened before the renewal is still open');
  assert.equal(after.fingerprint, first.fingerprint, 'and keeps the session it had');

  const status = JSON.parse((await request(`http://127.0.0.1:${daemon.adminAddress!.port}/status`)).body) as { certificates: Array<{ fingerprint: string; lastLoad: { ok: boolean } }> };
  assert.equal(status.certificates[0]!.fingerprint, next.fingerprint);
  assert.equal(status.certificates[0]!.lastLoad.ok, true);
}

const plainFiles = (dir: string, first: Pem) => {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  writeFileSync(cert, readFileSync(first.cert));
  writeFileSync(key, readFileSync(first.key));
  return { cert, key };
};

test('renewal by writing the files in place', { skip }, (t) => renewal(t, plainFiles, (live, next) => {
  writeFileSync(live.key, readFileSync(next.key));
  writeFileSync(live.cert, readFileSync(next.cert));
}));

test('renewal by renaming new files over the old ones', { skip }, (t) => renewal(t, plainFiles, (live, next) => {
  writeFileSync(`${live.cert}.tmp`, readFileSync(next.cert));
  writeFileSync(`${live.key}.tmp`, readFileSync(next.key));
  renameSync(`${live.cert}.tmp`, live.cert);
  renameSync(`${live.key}.tmp`, live.key);
}));

/** certbot's layout: live/site/{fullchain,privkey}.pem are symlinks to ../../archive/site/{fullchainN,privkeyN}.pem. */
const certbot = (dir: string, first: Pem) => {
  mkdirSync(path.join(dir, 'archive/site'), { recursive: true });
  mkdirSync(path.join(dir, 'live/site'), { recursive: true });
  writeFileSync(path.join(dir, 'archive/site/fullchain1.pem'), readFileSync(first.cert));
  writeFileSync(path.join(dir, 'archive/site/privkey1.pem'), readFileSync(first.key));
  symlinkSync('../../archive/site/fullchain1.pem', path.join(dir, 'live/site/fullchain.pem'));
  symlinkSync('../../archive/site/privkey1.pem', path.join(dir, 'live/site/privkey.pem'));
  return { cert: path.join(dir, 'live/site/fullchain.pem'), key: path.join(dir, 'live/site/privkey.pem') };
};

/** certbot renew: new numbered files in archive/, then each live/ link replaced (a new link renamed over it). */
const certbotRenew: Style = (live, next, dir) => {
  writeFileSync(path.join(dir, 'archive/site/fullchain2.pem'), readFileSync(next.cert));
  writeFileSync(path.join(dir, 'archive/site/privkey2.pem'), readFileSync(next.key));
  for (const [link, target] of [[live.cert, 'fullchain2.pem'], [live.key, 'privkey2.pem']] as const) {
    symlinkSync(`../../archive/site/${target}`, `${link}.new`);
    renameSync(`${link}.new`, link);
  }
};

test('renewal by certbot: live/ symlinks swapped to new archive/ files', { skip }, (t) => renewal(t, certbot, certbotRenew));

test('renewal of a Kubernetes Secret volume: the ..data symlink swapped to a new directory', { skip }, (t) => renewal(t, (dir, first) => {
  const vol = path.join(dir, 'secret');
  mkdirSync(path.join(vol, '..2026_01_01'), { recursive: true });
  writeFileSync(path.join(vol, '..2026_01_01/tls.crt'), readFileSync(first.cert));
  writeFileSync(path.join(vol, '..2026_01_01/tls.key'), readFileSync(first.key));
  symlinkSync('..2026_01_01', path.join(vol, '..data'));
  symlinkSync('..data/tls.crt', path.join(vol, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(vol, 'tls.key'));
  return { cert: path.join(vol, 'tls.crt'), key: path.join(vol, 'tls.key') };
}, (live, next) => {
  const vol = path.dirname(live.cert);
  mkdirSync(path.join(vol, '..2026_02_01'));
  writeFileSync(path.join(vol, '..2026_02_01/tls.crt'), readFileSync(next.cert));
  writeFileSync(path.join(vol, '..2026_02_01/tls.key'), readFileSync(next.key));
  symlinkSync('..2026_02_01', path.join(vol, '..data_tmp'));
  renameSync(path.join(vol, '..data_tmp'), path.join(vol, '..data'));
}));

test('with workers: 2, the primary loads the renewed pair and every worker serves it', { skip }, (t) => renewal(t, certbot, certbotRenew, 2));

test('a mismatched or truncated key keeps the certificate being served and shows the error in /status', { skip }, async (t) => {
  const dir = tempDir(t);
  const first = makeCert(dir, 'first', ['site.test']);
  const other = makeCert(dir, 'other', ['site.test']);
  const live = plainFiles(dir, first);
  const [b] = await startBackends(t, 1);
  const { daemon, logs } = await startTestDaemon(t, yamlConfig([b!.url], `tls:\n  cert: ${live.cert}\n  key: ${live.key}\nadmin:\n  listen: 127.0.0.1:0\n`), { dir });
  const port = daemon.address.port;
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}/status`;
  type Doc = { certificates: Array<{ fingerprint: string; lastLoad: { ok: boolean; error?: string } }> };
  const lastLoad = async () => (JSON.parse((await request(admin)).body) as Doc).certificates[0]!;

  // A new certificate with the old key: they do not match.
  writeFileSync(live.cert, readFileSync(other.cert));
  const mismatch = await waitFor(async () => { const c = await lastLoad(); return c.lastLoad.ok ? undefined : c; }, { what: 'the failed load in /status' });
  assert.match(mismatch.lastLoad.error ?? '', /does not match/);
  assert.equal(mismatch.fingerprint, first.fingerprint, '/status still shows the certificate served');
  assert.equal((await peerCertificate(port, 'site.test')).fingerprint, first.fingerprint);
  assert.equal((await new Promise<number>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  })), 200);
  assert.ok(logs.has('YALB_ERR_TLS_CERTIFICATE'), 'the failure is logged as an error');

  // Back to a good pair, then a half-written key.
  writeFileSync(live.cert, readFileSync(first.cert));
  await waitFor(async () => (await lastLoad()).lastLoad.ok, { what: 'a good load again' });
  const key = readFileSync(first.key, 'utf8');
  writeFileSync(live.key, key.slice(0, Math.floor(key.length / 2)));
  const truncated = await waitFor(async () => { const c = await lastLoad(); return c.lastLoad.ok ? undefined : c; }, { what: 'the truncated key in /status' });
  assert.match(truncated.lastLoad.error ?? '', /not a valid PEM private key/);
  assert.equal((await peerCertificate(port, 'site.test')).fingerprint, first.fingerprint);
});
