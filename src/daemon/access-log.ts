/**
 * The access log: one line per request, JSON or the combined format, to
 * stdout or a file. A JSON line carries `"log":"access"` and the same
 * `time` field as the operational log (log/logger.ts), so one pipeline can
 * read both from one stream and tell them apart. Lines go through a buffered stream (never a synchronous
 * write, never winston on the request path: its per-call formatting costs
 * 30–40 % of proxy CPU as measured for the first wave). reopen() serves SIGUSR1
 * after logrotate moved the file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { LbConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { RequestRecord } from '../proxy/handle-request.js';

type AccessLogConfig = LbConfig['accessLog'];

function clientOf(r: RequestRecord): string {
  return r.req.socket.remoteAddress ?? '-';
}

/**
 * bytesOf is the response body bytes sent: counted as the engine wrote them
 * (so a chunked response has its real size), or for an answer yalb wrote
 * itself its Content-Length; undefined when unknown (a client that left).
 */
export function bytesOf(r: RequestRecord): number | undefined {
  if (r.bytes !== undefined) return r.bytes;
  if (r.failure === undefined || r.failure === 'client-abort') return undefined;
  const len = Number(r.res.getHeader('content-length')); // a 5xx yalb wrote itself
  return Number.isFinite(len) ? len : undefined;
}

/** formatJson renders one access line as JSON. */
export function formatJson(r: RequestRecord, at: Date): string {
  return `${JSON.stringify({
    time: at.toISOString(),
    log: 'access',
    requestId: r.requestId || null,
    client: clientOf(r),
    method: r.req.method,
    path: r.req.url,
    status: r.status,
    bytes: bytesOf(r) ?? null,
    bytesIn: r.bytesIn,
    durationMs: Math.round(r.durationMs * 100) / 100,
    pool: r.pool || null,
    backend: r.backend ?? null,
    attempts: r.attempts,
    ...(r.failure ? { error: r.failure } : {}),
  })}\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * escapeLogText makes request text safe inside a quoted field of a log line:
 * quotes, backslashes and control characters are escaped (nginx's escape=default),
 * so a request cannot forge or split a line.
 */
export function escapeLogText(s: string): string {
  return s.replace(/["\\\x00-\x1f\x7f]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * formatCombined renders one access line in the combined log format, then
 * backend, attempts, duration and request id as key=value fields (after the
 * quoted user agent, where combined parsers such as goaccess's COMBINED stop
 * reading). The id has no space or quote (request-id.ts), so it needs no quoting.
 */
export function formatCombined(r: RequestRecord, at: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ts = `${p2(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${p2(at.getUTCHours())}:${p2(at.getUTCMinutes())}:${p2(at.getUTCSeconds())} +0000`;
  const q = (v: string | string[] | undefined) => `"${escapeLogText(String(v ?? '-'))}"`;
  const h = r.req.headers;
  return `${clientOf(r)} - - [${ts}] "${r.req.method} ${escapeLogText(r.req.url ?? '')} HTTP/${r.req.httpVersion}" ${r.status} ${bytesOf(r) ?? '-'} ${q(h.referer)} ${q(h['user-agent'])} backend=${r.backend ?? '-'} attempts=${r.attempts} duration_ms=${r.durationMs.toFixed(1)} request_id=${r.requestId || '-'}\n`;
}

/** FLUSH_BYTES and FLUSH_MS bound the access log buffer (nginx `access_log … buffer= flush=`). */
export const FLUSH_BYTES = 32 * 1024;
export const FLUSH_MS = 200;

/**
 * AccessLog writes access lines when lb.yaml asks for them. Lines collect in
 * a buffer written out at 32 KiB or after 200 ms, whichever comes first: one
 * write per batch instead of one stream write per request.
 */
export class AccessLog {
  #cfg: AccessLogConfig;
  #file: WriteStream | undefined;
  #log: Logger | undefined;
  #buf = '';
  #timer: NodeJS.Timeout | undefined;
  readonly #flush = () => this.flush();

  /** configure applies the accessLog section (undefined = off); called on start and every reload. */
  configure(cfg: AccessLogConfig, log: Logger): void {
    this.#log = log;
    if (JSON.stringify(cfg) === JSON.stringify(this.#cfg)) return;
    void this.#closeFile();
    this.#cfg = cfg;
    if (cfg) this.#openFile(cfg.path);
  }

  #openFile(path: string): void {
    // For stdout, an fs stream on fd 1: process.stdout writes synchronously
    // when it is a file or a TTY, which would block the request path.
    const f = path === 'stdout'
      ? createWriteStream('', { fd: 1, autoClose: false })
      : createWriteStream(path, { flags: 'a', mode: 0o640 }); // client addresses and paths: not for every local user
    f.on('error', (err) => this.#log?.error(`access log ${path}: ${err.message}`));
    this.#file = f;
  }

  #closeFile(): Promise<void> {
    this.flush();
    const f = this.#file;
    this.#file = undefined;
    if (!f) return Promise.resolve();
    return new Promise((r) => f.end(() => r()));
  }

  /** write logs one request if the access log is on. */
  write(r: RequestRecord): void {
    if (!this.#file || !this.#cfg) return;
    this.#buf += this.#cfg.format === 'json' ? formatJson(r, new Date()) : formatCombined(r, new Date());
    if (this.#buf.length >= FLUSH_BYTES) this.flush();
    else if (!this.#timer) {
      this.#timer = setTimeout(this.#flush, FLUSH_MS);
      this.#timer.unref();
    }
  }

  /** flush writes the buffered lines out now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buf && this.#file) this.#file.write(this.#buf);
    this.#buf = '';
  }

  /** reopen closes and reopens the file (logrotate, SIGUSR1). */
  reopen(): void {
    if (!this.#file || !this.#cfg || this.#cfg.path === 'stdout') return;
    void this.#closeFile();
    this.#openFile(this.#cfg.path);
  }

  /** close flushes and closes the file. */
  close(): Promise<void> {
    return this.#closeFile();
  }
}
