/**
 * Active health probes. TCP: connect and close (the seed's check; for
 * https:// a verified TLS handshake). HTTP: GET a path with the backend's
 * Host and a yalb User-Agent; the status must be in `expectStatus`. Every
 * probe is bounded by its timeout and resolves; it never throws.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { type BackendTrust, backendTlsOptions } from '../config/backend-tls.js';
import type { StatusRanges } from '../config/schema.js';

/** ProbeResult is the verdict of one probe. */
export interface ProbeResult {
  ok: boolean;
  /** reason: "ok", an error code (ECONNREFUSED), "timeout" or "status 503". */
  reason: string;
  ms: number;
}

/** statusMatches tells whether a status is in the ranges. */
export function statusMatches(status: number, ranges: StatusRanges): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/** USER_AGENT is what HTTP probes send. */
export const USER_AGENT = 'yalb-health/0.1';

function target(url: string): { host: string; port: number; tls: boolean; hostHeader: string } {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: Number(u.port) || (secure ? 443 : 80), tls: secure, hostHeader: u.host };
}

type Finish = (ok: boolean, reason: string) => void;

/**
 * bounded runs one probe: `start` begins it and returns what to destroy when
 * it ends; the first of its own verdict, the timeout or the abort signal wins.
 */
function bounded(timeoutMs: number, signal: AbortSignal | undefined, start: (finish: Finish) => { destroy(): unknown }): Promise<ProbeResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    let handle: { destroy(): unknown } | undefined;
    const finish: Finish = (ok, reason) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      handle?.destroy();
      resolve({ ok, reason, ms: performance.now() - t0 });
    };
    const onAbort = () => finish(false, 'aborted');
    const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    handle = start(finish);
    if (done) handle.destroy();
  });
}

/** tcpProbe connects to the backend's host:port (TLS handshake for https://) and closes. */
export function tcpProbe(url: string, timeoutMs: number, signal?: AbortSignal, trust?: BackendTrust): Promise<ProbeResult> {
  const t = target(url);
  return bounded(timeoutMs, signal, (finish) => {
    const socket = t.tls
      ? tls.connect({ host: t.host, port: t.port, ...backendTlsOptions(url, trust) }, () => finish(true, 'ok'))
      : net.connect({ host: t.host, port: t.port }, () => finish(true, 'ok'));
    // A failed certificate check is an 'error' whose code names it (DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, …).
    socket.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    return socket;
  });
}

/** httpProbe GETs `path` on the backend; passes when the status is in `expect`. */
export function httpProbe(url: string, path: string, expect: StatusRanges, timeoutMs: number, signal?: AbortSignal, trust?: BackendTrust): Promise<ProbeResult> {
  const t = target(url);
  return bounded(timeoutMs, signal, (finish) => {
    const mod = t.tls ? https : http;
    const req = mod.request({
      host: t.host, port: t.port, path, method: 'GET', agent: false,
      headers: { host: t.hostHeader, 'user-agent': USER_AGENT, connection: 'close' },
      ...(t.tls ? backendTlsOptions(url, trust) : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish(statusMatches(status, expect), `status ${status}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    req.end();
    return req;
  });
}
