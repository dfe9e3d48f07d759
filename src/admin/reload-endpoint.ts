/**
 * POST /api/reload: the daemon re-reads its config file and answers with
 * the result of that very reload, as JSON. It is how `yalb reload` (and a
 * systemd ExecReload=) learns whether the new config was applied, without a
 * pid file. The admin server has already checked the caller (loopback, or
 * the token when allowRemote); this adds what a mutation needs beyond a
 * read: POST only, and no request from a web page (a browser may send a
 * cross-site POST to 127.0.0.1 without asking first).
 */
import type http from 'node:http';

/** AdminReloadResult is what a reload resolves with (the daemon's ReloadResult). */
export type AdminReloadResult =
  | { ok: true; applied: boolean; hash: string; changes: string[] }
  | { ok: false; errors: string[] };

/** Reloadable is the one mutation the admin API may ask of the daemon. */
export interface Reloadable {
  reload(trigger: string): Promise<AdminReloadResult>;
  draining(): boolean;
}

/** RELOAD_TRIGGER is how a reload asked through the API is named in the log, /status and the history. */
export const RELOAD_TRIGGER = 'yalb reload';

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/i;

/**
 * fromWebPage tells whether a request comes from a browser page: it has an
 * Origin other than the admin API itself, or (without a token to protect
 * it) a Host that is not a loopback name, as a DNS-rebinding page sends.
 */
function fromWebPage(req: http.IncomingMessage, tokenRequired: boolean): boolean {
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return true;
    }
    if (originHost !== host) return true;
  }
  return !tokenRequired && !LOOPBACK_HOST.test(host);
}

/**
 * handleReload answers POST /api/reload: 200 with `{ ok: true, applied,
 * hash, changes }` (applied false: the file matches the running config),
 * 422 with `{ ok: false, code: "YALB_ERR_RELOAD_FAILED", errors }` (each
 * error `file:line:col: message`; the running config keeps serving), 503
 * while the daemon stops, 403 for a request from a web page, 405 for
 * another method.
 */
export function handleReload(req: http.IncomingMessage, res: http.ServerResponse, target: Reloadable, tokenRequired: boolean): void {
  const send = (status: number, doc: unknown, headers: Record<string, string> = {}) => {
    const body = `${JSON.stringify(doc, null, 2)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
    res.end(body);
  };
  if (req.method !== 'POST') return send(405, { ok: false, code: 'YALB_ERR_ADMIN', errors: ['use POST /api/reload'] }, { allow: 'POST' });
  if (fromWebPage(req, tokenRequired)) return send(403, { ok: false, code: 'YALB_ERR_ADMIN', errors: ['refused: a reload is not accepted from a web page'] });
  if (target.draining()) return send(503, { ok: false, code: 'YALB_ERR_NOT_RUNNING', errors: ['the daemon is stopping'] });
  req.resume(); // a body, if any, is not read
  target.reload(RELOAD_TRIGGER).then(
    (r) => (r.ok ? send(200, r) : send(422, { ok: false, code: 'YALB_ERR_RELOAD_FAILED', errors: r.errors })),
    (err: Error) => send(500, { ok: false, code: 'YALB_ERR_RELOAD_FAILED', errors: [`internal error: ${err.message}`] }),
  );
}
