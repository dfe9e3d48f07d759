/**
 * The hash key of a request, for the ip-hash and hash strategies: what the
 * consistent-hash ring is asked about (`ctx.key`). Computed once per request
 * by the proxy and cheap: no URL object, and the query string is only parsed
 * when `hashKey: query:NAME` asks for it.
 */
import { cookieValue } from '../pool/cookie.js';
import { unmapIpv4 } from './headers.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { HashKey } from '../config/schema.js';

/** KeyedRequest is the part of an http.IncomingMessage hashKeyOf reads. */
export interface KeyedRequest {
  headers: IncomingHttpHeaders;
  url?: string | undefined;
  socket: { remoteAddress?: string | undefined };
}

/**
 * clientIp is the peer address of the connection, with IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`) folded to plain IPv4 so one client has one key on a
 * dual-stack listener. X-Forwarded-For is not consulted here.
 */
export function clientIp(req: KeyedRequest): string | undefined {
  const ip = req.socket.remoteAddress;
  if (!ip) return undefined;
  return unmapIpv4(ip);
}

/** queryValue returns the first value of parameter `name` in a request target, or undefined. */
function queryValue(url: string | undefined, name: string): string | undefined {
  if (!url) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const hash = url.indexOf('#', q);
  return new URLSearchParams(hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash)).get(name) ?? undefined;
}

/**
 * hashKeyOf returns the request's value of `hashKey` (parsed once from
 * lb.yaml): the client IP for `ip`, a header (repeated headers joined with
 * ","), a cookie or a query parameter. Undefined when the request lacks it
 * (absent or empty), so the strategy falls back to round robin instead of
 * piling every keyless request onto one backend. The proxy only calls it
 * when the generation's strategy hashes.
 */
export function hashKeyOf(req: KeyedRequest, hashKey: HashKey): string | undefined {
  let value: string | undefined;
  switch (hashKey.kind) {
    case 'ip':
      return clientIp(req);
    case 'header': {
      const raw = req.headers[hashKey.name];
      value = Array.isArray(raw) ? raw.join(',') : raw;
      break;
    }
    case 'cookie':
      value = cookieValue(req.headers.cookie, hashKey.name);
      break;
    case 'query':
      value = queryValue(req.url, hashKey.name);
      break;
  }
  return value === undefined || value === '' ? undefined : value;
}
