/**
 * The admin API: GET /status (JSON), GET /metrics (Prometheus text),
 * GET /healthz (200 while serving, 503 while draining), POST /api/reload
 * (reload-endpoint.ts) and the operator's view (operator.ts: GET /,
 * /api/history, /api/series, /api/config). It reads through StatusSource;
 * its one mutation, a reload, goes through the daemon's own reload path.
 * Loopback only unless allowRemote, which requires a bearer token.
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Metrics } from './metrics.js';
import { hostAllowed, isOperatorPath, type OperatorSource, serveOperator } from './operator.js';
import { handleReload, type Reloadable } from './reload-endpoint.js';
import type { StatusDocument } from './status.js';

/** StatusSource is what the admin API reads; the daemon implements it. */
export interface StatusSource {
  status(): StatusDocument;
  draining(): boolean;
  /** refresh brings status() up to date first (a cluster primary asks its workers). */
  refresh?(): Promise<void>;
  /** operator: the dashboard, the reload history, the series and the live config (operator.ts); absent = those paths answer 404. */
  operator?: OperatorSource;
  /** reload, when given, serves POST /api/reload (reload-endpoint.ts). */
  reload?: Reloadable['reload'];
}

/** AdminOptions: the token, when remote access is allowed. */
export interface AdminOptions {
  token?: string | undefined;
  allowRemote?: boolean;
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || (addr?.startsWith('127.') ?? false);
}

function authorized(req: http.IncomingMessage, opts: AdminOptions): boolean {
  if (!opts.allowRemote) return isLoopback(req.socket.remoteAddress);
  const want = Buffer.from(`Bearer ${opts.token ?? ''}`);
  const got = Buffer.from(req.headers.authorization ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * createAdminServer returns the admin http.Server (not yet listening). `auth`
 * is read per request, so a reload that changes only the token or
 * allowRemote applies without rebinding the port.
 */
export function createAdminServer(source: StatusSource, metrics: Metrics, auth: () => AdminOptions = () => ({})): http.Server {
  return http.createServer((req, res) => {
    const opts = auth();
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const path = (req.url ?? '/').split('?')[0];
    const reload = source.reload?.bind(source);
    if (path === '/api/reload' && reload) {
      if (!authorized(req, opts)) {
        res.setHeader('www-authenticate', 'Bearer');
        return send(401, 'text/plain', '401 unauthorized\n');
      }
      return handleReload(req, res, { reload, draining: () => source.draining() }, Boolean(opts.allowRemote));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', '405 method not allowed\n');
    // /healthz tells only "serving" or "draining": it needs no token, so a
    // container HEALTHCHECK or a kubelet probe works when a token is set.
    if (path === '/healthz') {
      return source.draining() ? send(503, 'text/plain', 'draining\n') : send(200, 'text/plain', 'ok\n');
    }
    const operator = source.operator && isOperatorPath(path ?? '/') ? source.operator : undefined;
    // Loopback-only: every path but /healthz refuses a Host that is not a loopback name or an IP (DNS rebinding).
    if (!hostAllowed(req.headers.host, opts.allowRemote ?? false)) return send(403, 'text/plain', '403 forbidden: Host must be a loopback name or an IP address\n');
    // The page holds no data: with allowRemote it loads without the token and asks for it once.
    if (operator && (path === '/' || path === '/index.html') && (opts.allowRemote || isLoopback(req.socket.remoteAddress))) return serveOperator(path ?? '/', req, res, operator);
    if (!authorized(req, opts)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(401, 'text/plain', '401 unauthorized\n');
    }
    if (operator) return serveOperator(path ?? '/', req, res, operator);
    if (path === '/status') {
      if (!source.refresh) return send(200, 'application/json', `${JSON.stringify(source.status(), null, 2)}\n`);
      source.refresh().then(
        () => send(200, 'application/json', `${JSON.stringify(source.status(), null, 2)}\n`),
        (err: Error) => send(500, 'text/plain', `status failed: ${err.message}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => send(200, metrics.registry.contentType, text),
        (err: Error) => send(500, 'text/plain', `metrics failed: ${err.message}\n`),
      );
      return;
    }
    send(404, 'text/plain', '404 not found: try /, /status, /metrics, /healthz, /api/history, /api/series or /api/config\n');
  });
}
