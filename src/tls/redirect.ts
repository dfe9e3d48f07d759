/**
 * tls.redirectHttp: a plain HTTP listener that answers every request with
 * 308 Permanent Redirect to the same host and path on HTTPS (308 keeps the
 * method and body, unlike 301), except ACME HTTP-01 challenges
 * (/.well-known/acme-challenge/…), which go to the pool like any request,
 * so certbot --webroot on a backend, or certbot --standalone on a port the
 * pool names, can renew while yalb holds port 80.
 */
import http from 'node:http';
import type { ProxyHandler } from '../proxy/handle-request.js';

/** ACME_PREFIX is the path of ACME HTTP-01 challenges (RFC 8555 §8.3). */
export const ACME_PREFIX = '/.well-known/acme-challenge/';
/**
 * ACME_PATH is a challenge request: the prefix and one base64url token
 * (RFC 8555 §8.3), nothing else, so `/.well-known/acme-challenge/../admin`
 * is redirected, never proxied over plain HTTP.
 */
const ACME_PATH = /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+$/;

// A host name, an IPv4 address or a bracketed IPv6 one, with an optional port: nothing else goes into a Location.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** redirectLocation is where a plain request for `host` + `url` goes on HTTPS at `httpsPort`; undefined for a bad Host. */
export function redirectLocation(host: string | undefined, url: string, httpsPort: number): string | undefined {
  if (!host || !HOST.test(host)) return undefined;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  const path = url.startsWith('/') ? url : '/';
  return `https://${name}${httpsPort === 443 ? '' : `:${httpsPort}`}${path}`;
}

/** createRedirectListener makes the redirect listener (unbound); `httpsPort` reads the HTTPS listener's port. */
export function createRedirectListener(handler: ProxyHandler, httpsPort: () => number): http.Server {
  const server = http.createServer({ headersTimeout: 15_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const url = req.url ?? '/';
    if (ACME_PATH.test(url)) {
      handler.handle(req, res).catch(() => res.destroy());
      return;
    }
    let location: string | undefined;
    try {
      location = redirectLocation(req.headers.host, url, httpsPort());
    } catch {
      location = undefined; // never let a request throw in a listener's handler
    }
    if (!location) {
      res.writeHead(400, { 'content-type': 'text/plain', 'x-yalb-error': 'YALB_ERR_BAD_REQUEST', connection: 'close' });
      res.end('400 Bad Request: missing or invalid Host header\n');
      return;
    }
    res.writeHead(308, { location, 'content-type': 'text/plain', 'content-length': 0 });
    res.end();
    req.resume();
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  return server;
}
