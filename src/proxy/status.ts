/**
 * The one place an error becomes an HTTP status (Caddy `statusError`,
 * Traefik's errNoAvailableServer → 503). Nothing else writes a 5xx.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';

/** FailureKind is why a request ended without a backend's response. */
export type FailureKind =
  | 'bad-request' | 'bad-host' | 'loop' | 'client-timeout' | 'queue-full' | 'queue-timeout'
  | 'no-route' | 'no-backend' | 'connect' | 'reset' | 'attempts-exhausted' | 'budget' | 'timeout' | 'idle' | 'client-abort';

/** STATUS_OF maps a failure to its status and stable error code. 499 is logged only, never sent. */
export const STATUS_OF: Record<FailureKind, { status: number; code: ErrorCode; text: string }> = {
  'bad-request': { status: 400, code: 'YALB_ERR_BAD_REQUEST', text: 'bad request target: expected a path starting with /' },
  'bad-host': { status: 400, code: 'YALB_ERR_BAD_REQUEST', text: 'bad request: more than one Host header' },
  'loop': { status: 508, code: 'YALB_ERR_LOOP', text: 'loop detected: this request already passed through this yalb (a backend points back at it)' },
  'client-timeout': { status: 408, code: 'YALB_ERR_CLIENT_TIMEOUT', text: 'the request body stopped arriving (timeouts.clientIdle)' },
  'queue-full': { status: 503, code: 'YALB_ERR_QUEUE_FULL', text: 'every backend is at its maxConnections and the queue is full' },
  'queue-timeout': { status: 503, code: 'YALB_ERR_QUEUE_TIMEOUT', text: 'every backend stayed at its maxConnections for queue.timeout' },
  'no-route': { status: 404, code: 'YALB_ERR_NO_ROUTE', text: 'no route matches this host and path (routes: in lb.yaml has no default route)' },
  'no-backend': { status: 503, code: 'YALB_ERR_NO_BACKEND', text: 'no backend is available' },
  'connect': { status: 502, code: 'YALB_ERR_UPSTREAM_CONNECT', text: 'no backend accepted the connection' },
  'reset': { status: 502, code: 'YALB_ERR_UPSTREAM_RESET', text: 'the backend closed the connection before answering, and the request could not be replayed' },
  'attempts-exhausted': { status: 502, code: 'YALB_ERR_ATTEMPTS_EXHAUSTED', text: 'every attempt to reach a backend failed' },
  'budget': { status: 502, code: 'YALB_ERR_RETRY_BUDGET', text: 'the backend failed and the retry budget is spent' },
  'timeout': { status: 504, code: 'YALB_ERR_UPSTREAM_TIMEOUT', text: 'the backend did not answer in time' },
  'idle': { status: 504, code: 'YALB_ERR_UPSTREAM_IDLE', text: 'the exchange with the backend went idle' },
  'client-abort': { status: 499, code: 'YALB_ERR_CLIENT_ABORT', text: 'client closed the request' },
};

/**
 * sendFailure answers a failed request with its status, a one-line text body
 * and the error code in `X-Yalb-Error`; it destroys the connection when the
 * response has already started or the client is gone.
 */
export function sendFailure(res: ServerResponse, kind: FailureKind): number {
  const { status, code, text } = STATUS_OF[kind];
  if (kind === 'client-abort' || res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.destroy();
    return status;
  }
  const body = `${status} ${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-yalb-error': code,
    ...(status === 503 ? { 'retry-after': '1' } : {}),
  });
  res.end(body);
  return status;
}
