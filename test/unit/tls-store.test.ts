/**
 * Issue 14: the checks a certificate pair passes before it is served
 * (loadPair), and the store's expiry warning (within 14 days: once a day).
 * Certificates are made by openssl at test time.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadPair } from '../../src/tls/certificate.js';
import { CertificateStore } from '../../src/tls/store.js';
import { createLogger } from '../../src/log/logger.js';
import { hasOpenssl, makeCert } from '../helpers/certs.js';
import { LogCapture, tempDir } from '../helpers/daemon.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install -y openssl)';

test('loadPair: a good pair, and each failed check names the file at fault', { skip }, (t) => {
  const dir = tempDir(t);
  const good = makeCert(dir, 'good', ['good.test', '*.good.test']);
  const other = makeCert(dir, 'other', ['other.test']);
  const expired = makeCert(dir, 'expired', ['old.test'], { days: -1 });

  const ok = loadPair(good.cert, good.key);
  assert.ok(ok.ok);
  assert.deepEqual(ok.pair.facts.names, ['good.test', '*.good.test']);
  assert.equal(ok.pair.facts.fingerprint, good.fingerprint);

  const bad = (cert: string, key: string) => {
    const r = loadPair(cert, key);
    assert.ok(!r.ok, `${cert} + ${key} should fail`);
    return r;
  };
  assert.deepEqual([bad(good.cert, other.key).file, bad(good.cert, other.key).error.includes('does not match')], ['key', true]);
  assert.equal(bad(expired.cert, expired.key).file, 'cert');
  assert.match(bad(expired.cert, expired.key).error, /expired on/);
  assert.match(bad(path.join(dir, 'nope.pem'), good.key).error, /no such file/);
  const half = path.join(dir, 'half.key');
  const key = readFileSync(good.key, 'utf8');
  writeFileSync(half, key.slice(0, key.length - 40));
  assert.equal(bad(good.cert, half).file, 'key');
  const notPem = path.join(dir, 'junk.crt');
  writeFileSync(notPem, 'hello');
  assert.match(bad(notPem, good.key).error, /no PEM certificate/);
  const halfCert = path.join(dir, 'half.crt');
  const c = readFileSync(good.cert, 'utf8');
  writeFileSync(halfCert, c.slice(0, c.length / 2));
  assert.equal(bad(halfCert, good.key).file, 'cert');
});

test('CertificateStore warns about a certificate within 14 days of expiry, once a day', { skip }, async (t) => {
  const dir = tempDir(t);
  const soon = makeCert(dir, 'soon', ['soon.test'], { days: 2 });
  const logs = new LogCapture();
  let now = Date.now();
  const bundles: unknown[] = [];
  const store = new CertificateStore({ log: createLogger({ level: 'debug', format: 'json', stream: logs.stream }), watch: false, now: () => now, onChange: (b) => bundles.push(b) });
  t.after(() => store.stop());
  const tls = { cert: soon.cert, key: soon.key, minVersion: 'TLSv1.2' as const };
  await store.configure(tls);
  await new Promise((r) => setImmediate(r));
  const warned = () => logs.lines.filter((l) => l.includes('expires in')).length;
  assert.equal(warned(), 1);
  assert.match(logs.lines.find((l) => l.includes('expires in'))!, /"level":"warn"/);
  assert.equal(bundles.length, 1);
  now += 3600_000;
  await store.configure(tls);
  assert.equal(warned(), 1, 'not again within the day');
  assert.equal(bundles.length, 1, 'same files: no new bundle');
  now += 24 * 3600_000;
  await store.configure(tls);
  await new Promise((r) => setImmediate(r));
  assert.equal(warned(), 2, 'again a day later');
  assert.equal(store.status()[0]!.lastLoad.ok, true);
  assert.deepEqual(store.expiries().map((e) => e.name), ['soon.test']);
});
