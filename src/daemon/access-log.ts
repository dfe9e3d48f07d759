/**
 * The access log: one line per request, JSON or the combined format, to
 * stdout or a file. Lines go through a buffered stream (never a synchronous
 * write, never winston on the request path: its per-call formatting costs
 * 30–40 % of proxy CPU, node-ecosystem.md §4.2). reopen() serves SIGUSR1
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

function bytesOf(r: RequestRecord): number | undefined {
  const len = Number(r.res.getHeader('content-length'));
  return Number.isFinite(len) ? len : undefined;
}

/** formatJson renders one access line as JSON. */
export function formatJson(r: RequestRecord, at: Date): string {
  return `${JSON.stringify({
    time: at.toISOString(),
    client: clientOf(r),
    method: r.req.method,
    path: r.req.url,
    status: r.status,
    bytes: bytesOf(r) ?? null,
    durationMs: Math.round(r.durationMs * 100) / 100,
    backend: r.backend ?? null,
    attempts: r.attempts,
    ...(r.failure ? { error: r.failure } : {}),
  })}\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** formatCombined renders one access line in the combined log format, plus backend, attempts and duration. */
export function formatCombined(r: RequestRecord, at: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const ts = `${p2(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${p2(at.getUTCHours())}:${p2(at.getUTCMinutes())}:${p2(at.getUTCSeconds())} +0000`;
  const q = (v: string | string[] | undefined) => `"${String(v ?? '-').replace(/["\\]/g, '\\$&')}"`;
  const h = r.req.headers;
  return `${clientOf(r)} - - [${ts}] "${r.req.method} ${r.req.url} HTTP/${r.req.httpVersion}" ${r.status} ${bytesOf(r) ?? '-'} ${q(h.referer)} ${q(h['user-agent'])} backend=${r.backend ?? '-'} attempts=${r.attempts} duration_ms=${r.durationMs.toFixed(1)}\n`;
}

/** AccessLog writes access lines when lb.yaml asks for them. */
export class AccessLog {
  #cfg: AccessLogConfig;
  #stream: NodeJS.WritableStream | undefined;
  #file: WriteStream | undefined;
  #log: Logger | undefined;

  /** configure applies the accessLog section (undefined = off); called on start and every reload. */
  configure(cfg: AccessLogConfig, log: Logger): void {
    this.#log = log;
    const same = JSON.stringify(cfg) === JSON.stringify(this.#cfg);
    if (same && (this.#stream || !cfg)) return;
    this.#closeFile();
    this.#cfg = cfg;
    this.#stream = undefined;
    if (!cfg) return;
    if (cfg.path === 'stdout') {
      // process.stdout writes synchronously when it is a file or a TTY; an fs
      // stream on fd 1 never blocks the request path (and batches with writev).
      const out = createWriteStream('', { fd: 1, autoClose: false, highWaterMark: 64 * 1024 });
      out.on('error', (err) => this.#log?.error(`access log stdout: ${err.message}`));
      this.#file = out;
      this.#stream = out;
    } else this.#openFile(cfg.path);
  }

  #openFile(path: string): void {
    const f = createWriteStream(path, { flags: 'a', highWaterMark: 64 * 1024 });
    f.on('error', (err) => this.#log?.error(`access log ${path}: ${err.message}`));
    this.#file = f;
    this.#stream = f;
  }

  #closeFile(): Promise<void> {
    const f = this.#file;
    this.#file = undefined;
    if (!f) return Promise.resolve();
    return new Promise((r) => f.end(() => r()));
  }

  /** write logs one request if the access log is on. */
  write(r: RequestRecord): void {
    const s = this.#stream;
    if (!s || !this.#cfg) return;
    s.write(this.#cfg.format === 'json' ? formatJson(r, new Date()) : formatCombined(r, new Date()));
  }

  /** reopen closes and reopens the file (logrotate, SIGUSR1). */
  reopen(): void {
    if (!this.#file || !this.#cfg || this.#cfg.path === 'stdout') return;
    void this.#closeFile();
    this.#openFile(this.#cfg.path);
  }

  /** close flushes and closes the file. */
  close(): Promise<void> {
    this.#stream = undefined;
    return this.#closeFile();
  }
}
