/**
 * Loading one certificate pair from disk and checking it before it may be
 * served: both files readable, the certificate parses (the first PEM block
 * is the leaf; the rest is the chain), the key parses and matches the
 * certificate, the certificate has not expired and names at least one
 * host, and Node accepts the pair as a secure context. A half-written or
 * mismatched pair fails here, so the caller keeps serving the old one.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { namesOf } from './names.js';

/** CertificateFacts are what /status shows of a loaded certificate. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  names: string[];
  /** notAfter: expiry, ms since the epoch. */
  notAfter: number;
  /** fingerprint: SHA-256 of the DER certificate, colon-separated hex (as openssl and Node's getPeerCertificate show it). */
  fingerprint: string;
}

/** PemPair is a certificate pair as text, what a listener needs to serve it (sent to workers as is). */
export interface PemPair {
  cert: string;
  key: string;
}

/** LoadedPair is a pair that passed every check. */
export interface LoadedPair extends PemPair {
  facts: CertificateFacts;
}

/** PairResult is a load: the pair, or the first check that failed and which file it is about. */
export type PairResult =
  | { ok: true; pair: LoadedPair }
  | { ok: false; error: string; file: 'cert' | 'key' };

function read(file: string): string | { error: string } {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied (yalb\'s user must be able to read it)' : (e.code ?? e.message);
    return { error: `cannot read ${file}: ${why}` };
  }
}

function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/**
 * loadPair reads and checks the pair at `certFile` / `keyFile` at time
 * `now` (ms). Never throws. `minVersion` is what the secure context is
 * tried with.
 */
export function loadPair(certFile: string, keyFile: string, now = Date.now()): PairResult {
  const cert = read(certFile);
  if (typeof cert !== 'string') return { ok: false, file: 'cert', error: cert.error };
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) return { ok: false, file: 'cert', error: `${certFile}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)` };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { ok: false, file: 'cert', error: `${certFile}: not a valid PEM certificate (${(err as Error).message})` };
  }
  const key = read(keyFile);
  if (typeof key !== 'string') return { ok: false, file: 'key', error: key.error };
  let keyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (err) {
    return { ok: false, file: 'key', error: `${keyFile}: not a valid PEM private key (${(err as Error).message}); truncated or half-written?` };
  }
  if (!x509.checkPrivateKey(keyObject)) {
    return { ok: false, file: 'key', error: `${keyFile} does not match the certificate in ${certFile}` };
  }
  const notAfter = Date.parse(x509.validTo);
  if (Number.isFinite(notAfter) && notAfter <= now) {
    return { ok: false, file: 'cert', error: `${certFile}: certificate expired on ${new Date(notAfter).toISOString()}` };
  }
  const names = namesOf(x509);
  if (names.length === 0) return { ok: false, file: 'cert', error: `${certFile}: the certificate names no host (no DNS subjectAltName and no CN)` };
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    return { ok: false, file: 'cert', error: `${certFile} with ${keyFile}: refused by TLS (${(err as Error).message})` };
  }
  return {
    ok: true,
    pair: {
      cert,
      key,
      facts: { subject: oneLine(x509.subject), issuer: oneLine(x509.issuer), names, notAfter, fingerprint: x509.fingerprint256 },
    },
  };
}
