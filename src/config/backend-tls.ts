/**
 * How yalb checks the certificate of an https:// backend: one definition
 * for the health probes and the proxy's engines, so both judge a backend
 * alike; `tls.backend` (verify, ca) says what is trusted.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** BackendTrust is what `tls.backend` says, with the CA file read (plain data; a worker builds its own). */
export interface BackendTrust {
  readonly verify: boolean;
  /** ca: the PEM of tls.backend.ca; absent = Node's default store (plus NODE_EXTRA_CA_CERTS). */
  readonly ca?: string | undefined;
  /** key tells two trusts apart (engines make new connection pools when it changes). */
  readonly key: string;
}

/** DEFAULT_TRUST: verify against Node's default store (no tls.backend). */
export const DEFAULT_TRUST: BackendTrust = { verify: true, key: 'verify:default' };

/**
 * loadBackendTrust reads tls.backend: the CA file, when named, must be
 * readable and hold at least one PEM certificate. Throws an error carrying
 * `configPath` (['tls', 'backend', 'ca']) otherwise.
 */
export function loadBackendTrust(backend: { verify: boolean; ca?: string | undefined } | undefined): BackendTrust {
  if (!backend) return DEFAULT_TRUST;
  if (backend.ca === undefined) return backend.verify ? DEFAULT_TRUST : { verify: false, key: 'noverify' };
  const fail = (message: string) => Object.assign(new Error(message), { configPath: ['tls', 'backend', 'ca'] });
  let ca: string;
  try {
    ca = readFileSync(backend.ca, 'utf8');
  } catch (err) {
    throw fail(`cannot read ${backend.ca}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no -----BEGIN CERTIFICATE----- block');
    new X509Certificate(ca); // eslint-disable-line no-new -- parses the first certificate
  } catch (err) {
    throw fail(`${backend.ca}: not a PEM CA certificate (${(err as Error).message})`);
  }
  return { verify: backend.verify, ca, key: `${backend.verify ? 'verify' : 'noverify'}:${ca}` };
}

/** BackendTlsOptions are the certificate checks of a connection to an https:// backend. */
export interface BackendTlsOptions {
  readonly rejectUnauthorized: boolean;
  /** servername: SNI and the name checked against the certificate; '' for an IP literal. */
  readonly servername: string;
  readonly ca?: string;
}

/**
 * backendTlsOptions returns how a connection to an https:// backend checks
 * its certificate, spelt out so probes and the proxy judge a backend alike
 * (probes that skipped the checks showed a backend with a bad certificate
 * up while every request to it failed). By default these are node:https's
 * defaults: no `ca`, so Node's default store (plus NODE_EXTRA_CA_CERTS,
 * read at start-up); rejectUnauthorized; servername, the SNI and the name
 * tls.checkServerIdentity matches, is the URL's hostname, or '' for an IP
 * literal (no SNI; the IP is matched against the certificate's IP SANs).
 * `trust` (tls.backend) replaces the store with its CA, or turns the
 * checks off (verify: false).
 *
 * Why explicit: an https.Agent left to itself takes servername from the
 * request's Host header, which a proxy forwards from the client. Spread
 * into each backend's https.Agent (agent options override request
 * options), this pins the name to the backend URL, as Caddy and nginx
 * ($proxy_host) do. It lives in config/ so health/ and proxy/ share it.
 */
export function backendTlsOptions(url: string | URL, trust: BackendTrust = DEFAULT_TRUST): BackendTlsOptions {
  const { hostname } = typeof url === 'string' ? new URL(url) : url;
  // WHATWG URLs bracket IPv6 and rewrite every IPv4 form to dotted decimal.
  const ip = hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
  const base = { rejectUnauthorized: trust.verify, servername: ip ? '' : hostname };
  return trust.ca === undefined ? base : { ...base, ca: trust.ca };
}
