/**
 * The operator's view on the admin listener: the dashboard page (GET /),
 * the reload history (GET /api/history), the per-minute series
 * (GET /api/series) and the live config (GET /api/config, what `yalb diff`
 * compares a file with). Read-only, through OperatorSource; the admin
 * server's access rules apply (server.ts), and, while the API is loopback
 * only, a Host header that names something else than a loopback address or
 * an IP literal is refused (a DNS-rebinding page must not read the API
 * through a victim's browser).
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { LbConfig } from '../config/schema.js';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT } from './dashboard/page.js';
import type { GitInfo } from './git.js';
import type { HistoryEntry } from './history.js';
import type { SeriesDocument } from './series.js';

/** LiveConfigDoc is the JSON body of GET /api/config: the config that serves, as validated (durations in ms, sizes in bytes), and where it came from. */
export interface LiveConfigDoc {
  file: string;
  hash: string;
  /** loadedAt: ISO time this config was applied (the start, or the reload that applied it). */
  loadedAt: string;
  git?: GitInfo;
  /** config: with admin.token replaced by "sha256:" and the first 16 hex digits of its SHA-256, so a diff still sees a change. */
  config: LbConfig;
}

/** OperatorSource is what the operator's view reads; the daemon implements it. */
export interface OperatorSource {
  history(): { version: number; entries: HistoryEntry[] };
  series(): SeriesDocument;
  liveConfig(): LiveConfigDoc;
}

/** redactToken replaces a config's admin.token by a digest of it (the token never leaves the daemon). */
export function redactToken<C extends { admin?: { token?: string | undefined } | undefined }>(cfg: C): C {
  const token = cfg.admin?.token;
  if (token === undefined) return cfg;
  return { ...cfg, admin: { ...cfg.admin, token: `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}` } };
}

const SCRIPT_HASH = createHash('sha256').update(DASHBOARD_SCRIPT).digest('base64');

/**
 * PAGE_HEADERS: a Content-Security-Policy that lets the page run only its
 * own inline script (by hash) and style, and talk only to its own origin:
 * no CDN, no font, no external request can happen even by mistake.
 */
const PAGE_HEADERS = {
  'content-security-policy': `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** isOperatorPath tells whether the operator's view serves `path`. */
export function isOperatorPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path === '/api/history' || path === '/api/series' || path === '/api/config';
}

const LOOPBACK_HOST = /^(localhost|[^:]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\]|(\d{1,3}\.){3}\d{1,3}|\[[0-9a-f:.]+\])(:\d+)?$/i;

/** hostAllowed: with a loopback-only API, the Host header must be a loopback name or an IP literal (DNS rebinding). */
export function hostAllowed(host: string | undefined, allowRemote: boolean): boolean {
  return allowRemote || host === undefined || LOOPBACK_HOST.test(host);
}

/**
 * serveOperator answers an operator's-view path (after the admin server's
 * access check; the page itself holds no data, so with allowRemote it is
 * served without the token, which the page then asks for once).
 */
export function serveOperator(path: string, req: http.IncomingMessage, res: http.ServerResponse, source: OperatorSource): void {
  const head = req.method === 'HEAD';
  const send = (status: number, headers: Record<string, string | number>, body: string) => {
    res.writeHead(status, { 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(head ? undefined : body);
  };
  const json = (value: unknown, extra: Record<string, string> = {}) => send(200, { 'content-type': 'application/json', ...extra }, `${JSON.stringify(value)}\n`);
  if (path === '/' || path === '/index.html') return send(200, { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS }, DASHBOARD_HTML);
  if (path === '/api/history') {
    const h = source.history();
    // ETag: the page asks every second and gets a 304 until something changed.
    const etag = `"h${h.version}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    return json({ version: h.version, entries: h.entries }, { etag });
  }
  if (path === '/api/series') return json(source.series());
  return json(source.liveConfig());
}
