/**
 * How yalb checks the certificate of an https:// backend: one definition
 * for the health probes and the proxy's engines, so both judge a backend
 * alike.
 */

/** BackendTlsOptions are the certificate checks of a connection to an https:// backend. */
export interface BackendTlsOptions {
  readonly rejectUnauthorized: true;
  /** servername: SNI and the name checked against the certificate; '' for an IP literal. */
  readonly servername: string;
}

/**
 * backendTlsOptions returns how a connection to an https:// backend checks
 * its certificate, spelt out so probes and the proxy judge a backend alike
 * (probes that skipped the checks showed a backend with a bad certificate
 * up while every request to it failed). These are node:https's defaults:
 * no `ca`, so Node's default store (plus NODE_EXTRA_CA_CERTS, read at
 * start-up); rejectUnauthorized; servername, the SNI and the name
 * tls.checkServerIdentity matches, is the URL's hostname, or '' for an IP
 * literal (no SNI; the IP is matched against the certificate's IP SANs).
 *
 * Why explicit: an https.Agent left to itself takes servername from the
 * request's Host header, which a proxy forwards from the client. Spread
 * into each backend's https.Agent (agent options override request
 * options), this pins the name to the backend URL, as Caddy and nginx
 * ($proxy_host) do. It lives in config/ so health/ and proxy/ share it.
 */
export function backendTlsOptions(url: string | URL): BackendTlsOptions {
  const { hostname } = typeof url === 'string' ? new URL(url) : url;
  // WHATWG URLs bracket IPv6 and rewrite every IPv4 form to dotted decimal.
  const ip = hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
  return { rejectUnauthorized: true, servername: ip ? '' : hostname };
}
