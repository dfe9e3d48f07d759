/**
 * Header rules at the proxy boundary: hop-by-hop headers (RFC 9110 §7.6.1,
 * plus the legacy ones nginx and Caddy also drop) are removed both ways, and
 * X-Forwarded-* are set. Client-supplied X-Forwarded-* are kept only from
 * trusted proxies (trustedProxies), otherwise replaced, so a client cannot
 * spoof its address to a backend.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';

/** HOP_BY_HOP lists headers that describe one connection, never forwarded. */
export const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
] as const;

const KEEP_NONE: readonly string[] = [];
const KEEP_UPGRADE: readonly string[] = ['connection', 'upgrade'];

/** removeHopByHop deletes hop-by-hop headers and every header the Connection header names. */
export function removeHopByHop(headers: IncomingHttpHeaders, keep: readonly string[] = KEEP_NONE): void {
  const conn = headers.connection;
  if (typeof conn === 'string') {
    for (const token of conn.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name in headers && !keep.includes(name)) delete headers[name];
    }
  }
  // Only delete what is there (a `delete` is a runtime call even for an absent
  // name), no array per call: 270 → 135 ns per request (microbenchmark).
  for (const name of HOP_BY_HOP) if (name in headers && !keep.includes(name)) delete headers[name];
}

/** ForwardedOptions say whether the client is a trusted proxy and how it reached us. */
export interface ForwardedOptions {
  trusted: BlockList | undefined;
  tls: boolean;
  /** port: the listener port the client connected to (X-Forwarded-Port); absent = not set. */
  port?: number | undefined;
}

/** unmapIpv4 folds an IPv4-mapped IPv6 address (::ffff:10.0.0.1) to plain IPv4. */
export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** isTrusted tells whether a client address belongs to trustedProxies. */
export function isTrusted(address: string | undefined, trusted: BlockList | undefined): boolean {
  if (!address || !trusted) return false;
  const ip = unmapIpv4(address);
  return trusted.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
}

/**
 * prepareRequestHeaders rewrites a client's request headers in place before
 * the first attempt: hop-by-hop removed (and `expect`, which Node already
 * answered with 100 Continue; a chunked body stays marked chunked for the
 * next hop), X-Forwarded-For appended (or set, when the
 * client is not trusted), X-Forwarded-Proto and -Host set. Host is kept.
 * For a WebSocket upgrade, Connection and Upgrade are kept.
 */
export function prepareRequestHeaders(req: IncomingMessage, opts: ForwardedOptions, upgrade = false): void {
  const h = req.headers;
  // Transfer-Encoding is hop-by-hop, but it is also how this body is framed:
  // Node only accepts requests whose last coding is chunked, and our hop
  // re-chunks the stream. Dropping it would turn a chunked upload into an
  // empty body (no length, no chunking) for the body reader and the backend.
  const chunked = !upgrade && h['transfer-encoding'] !== undefined;
  removeHopByHop(h, upgrade ? KEEP_UPGRADE : KEEP_NONE);
  if (chunked) h['transfer-encoding'] = 'chunked';
  if (upgrade) {
    h.connection = 'upgrade';
  }
  if (h.expect !== undefined) delete h.expect;
  // A dual-stack listener (a bare port) sees IPv4 clients as ::ffff:a.b.c.d; backends get a.b.c.d, as from nginx.
  const client = unmapIpv4(req.socket.remoteAddress ?? '');
  const trusted = isTrusted(client, opts.trusted);
  const prior = trusted ? h['x-forwarded-for'] : undefined;
  h['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  if (!trusted || !h['x-forwarded-proto']) h['x-forwarded-proto'] = opts.tls ? 'https' : 'http';
  if (!trusted || !h['x-forwarded-host']) {
    if (h.host) h['x-forwarded-host'] = h.host;
    else if (h['x-forwarded-host'] !== undefined) delete h['x-forwarded-host'];
  }
  if (opts.port !== undefined && (!trusted || !h['x-forwarded-port'])) h['x-forwarded-port'] = String(opts.port);
  if (!trusted) {
    if (opts.port === undefined && h['x-forwarded-port'] !== undefined) delete h['x-forwarded-port'];
    if (h.forwarded !== undefined) delete h.forwarded;
  }
}

/** prepareResponseHeaders removes a backend's hop-by-hop headers before they reach the client. */
export function prepareResponseHeaders(headers: IncomingHttpHeaders, clientKeepsAlive: boolean): void {
  removeHopByHop(headers);
  headers.connection = clientKeepsAlive ? 'keep-alive' : 'close';
}
