/**
 * Issue 14: `yalb check` validates the files tls: names (readable, the pair
 * matches, not expired) and reports each problem as file:line:col on the
 * key that names the bad file; the schema refuses what cannot work; a
 * reload with a bad pair keeps the running one. Certificates are made by
 * openssl at test time.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { hasOpenssl, makeCert, peerCertificate } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install -y openssl)';

test('yalb check refuses an expired certificate, a key that does not match and a missing file, at the key naming the file', { skip }, async (t) => {
  const dir = tempDir(t);
  const good = makeCert(dir, 'good', ['good.test']);
  const expired = makeCert(dir, 'expired', ['old.test'], { days: -1 });
  const other = makeCert(dir, 'other', ['other.test']);
  const file = path.join(dir, 'lb.yaml');

  writeFileSync(file, `listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:3031\ntls:\n  cert: ${good.cert}\n  key: ${good.key}\n`);
  const ok = await runCli(['check', '-c', file]);
  assert.equal(ok.code, 0, ok.stderr);

  writeFileSync(file, `listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:3031\ntls:\n  cert: ${expired.cert}\n  key: ${expired.key}\n`);
  const r1 = await runCli(['check', '-c', file]);
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, new RegExp(`lb\\.yaml:5:9: tls\\.cert: .*expired\\.crt: certificate expired on `));

  writeFileSync(file, [
    'listen: 127.0.0.1:0', 'backends:', '  - url: http://127.0.0.1:3031', 'tls:',
    `  cert: ${good.cert}`, `  key: ${good.key}`, '  certificates:',
    `    - cert: ${other.cert}`, `      key: ${good.key}`,
    `    - cert: ${dir}/nowhere.pem`, `      key: ${other.key}`, '',
  ].join('\n'));
  const r2 = await runCli(['check', '-c', file, '--format', 'json']);
  assert.equal(r2.code, 1);
  const issues = (JSON.parse(r2.stdout) as { issues: Array<{ line: number; col: number; path: string; message: string }> }).issues;
  assert.deepEqual(issues.map((i) => [i.path, i.line, i.col]), [['tls.certificates.0.key', 9, 12], ['tls.certificates.1.cert', 10, 13]]);
  assert.match(issues[0]!.message, /good\.key does not match the certificate in .*other\.crt/);
  assert.match(issues[1]!.message, /cannot read .*nowhere\.pem: no such file/);
});

test('the schema refuses tls.http2: true, a cert without its key, and a redirect without a certificate', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const base = 'listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:3031\n';
  writeFileSync(file, `${base}tls:\n  cert: /x.pem\n  http2: true\n`);
  const r = await runCli(['check', '-c', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /lb\.yaml:6:10: .*HTTP\/2 is not supported/);
  assert.match(r.stderr, /lb\.yaml:5:\d+: .*tls\.cert and tls\.key go together/);
  writeFileSync(file, `${base}tls:\n  redirectHttp: 8080\n  backend: { verify: true }\n`);
  const r2 = await runCli(['check', '-c', file]);
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /tls\.redirectHttp needs a certificate/);
});

test('a reload naming a bad pair is refused at its key and the running certificate keeps serving; turning HTTPS off needs a restart', { skip }, async (t) => {
  const dir = tempDir(t);
  const good = makeCert(dir, 'good', ['good.test']);
  const other = makeCert(dir, 'other', ['other.test']);
  const [b] = await startBackends(t, 1);
  const { daemon, file } = await startTestDaemon(t, yamlConfig([b!.url], `tls:\n  cert: ${good.cert}\n  key: ${good.key}\n`), { dir });
  writeFileSync(file, yamlConfig([b!.url], `tls:\n  cert: ${other.cert}\n  key: ${good.key}\n`));
  const r = await daemon.reload('test');
  assert.equal(r.ok, false);
  assert.match(String((r as { errors: string[] }).errors), /lb\.yaml:6:8: tls\.key: .*does not match/);
  assert.equal((await peerCertificate(daemon.address.port, 'good.test')).fingerprint, good.fingerprint);

  writeFileSync(file, yamlConfig([b!.url], `tls:\n  cert: ${other.cert}\n  key: ${other.key}\n`));
  assert.equal((await daemon.reload('test')).ok, true);
  assert.equal((await peerCertificate(daemon.address.port, 'other.test')).fingerprint, other.fingerprint, 'a reload that names another pair serves it');

  writeFileSync(file, yamlConfig([b!.url]));
  const off = await daemon.reload('test');
  assert.equal(off.ok, false);
  assert.match(String((off as { errors: string[] }).errors), /needs a restart/);
});
