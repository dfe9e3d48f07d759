/**
 * Test certificates made at test time with openssl (none committed, none
 * that can expire in the repository): a private CA, leaf certificates for
 * given DNS names (signed by a CA or self-signed), expired ones, and
 * client-side views of what a TLS listener serves (subject, fingerprint).
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

/** OPENSSL is the binary the helpers run. */
export const OPENSSL = process.env.OPENSSL ?? 'openssl';

/** hasOpenssl tells whether openssl can be run (tests skip with a message otherwise). */
export function hasOpenssl(): boolean {
  try {
    execFileSync(OPENSSL, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pem is a certificate and key on disk. */
export interface Pem {
  cert: string;
  key: string;
  /** fingerprint: SHA-256, as Node's getPeerCertificate().fingerprint256 shows it. */
  fingerprint: string;
}

function run(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/** makeCa makes a private CA (`name`.crt, `name`.key in `dir`), valid 2 days. */
export function makeCa(dir: string, name = 'ca'): Pem {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  run(['req', '-x509', ...EC, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=yalb test CA ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

/**
 * makeCert makes `name`.crt / `name`.key in `dir` for `names` (DNS SANs;
 * IP literals become IP SANs); signed by `ca` or self-signed; valid
 * `days` days (negative: already expired).
 */
export function makeCert(dir: string, name: string, names: string[], opts: { ca?: Pem; days?: number } = {}): Pem {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  run(['req', '-new', ...EC, '-keyout', key, '-out', csr, '-subj', `/CN=${names[0] ?? name}`], dir);
  const signer = opts.ca ? ['-CA', opts.ca.cert, '-CAkey', opts.ca.key, '-CAcreateserial'] : ['-signkey', key];
  run(['x509', '-req', '-in', csr, ...signer, '-days', String(opts.days ?? 2), '-extfile', ext, '-out', cert], dir);
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

/** PeerView is what a client sees of a TLS listener's certificate. */
export interface PeerView {
  subject: string;
  fingerprint: string;
  names: string;
}

/** peerCertificate connects to 127.0.0.1:`port` (with SNI `servername`, if given), reads the certificate served and closes. */
export function peerCertificate(port: number, servername?: string): Promise<PeerView> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve({ subject: String(c.subject?.CN ?? ''), fingerprint: c.fingerprint256, names: c.subjectaltname ?? '' });
    });
    s.setTimeout(5000, () => s.destroy(new Error('TLS handshake timeout')));
    s.on('error', reject);
  });
}
