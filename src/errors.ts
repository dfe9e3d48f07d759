/**
 * yalb's errors. Every error that can reach a user carries a stable `code`
 * (`YALB_ERR_*`); match on `error.code`, never on the message. The README
 * lists every code, and test/unit/errors.test.ts keeps the two in step.
 */

/** ErrorCodes lists every stable code with a one-line meaning (the README repeats it). */
export const ErrorCodes = {
  YALB_ERR_CONFIG_INVALID: 'lb.yaml failed to parse or validate; the message lists each problem as file:line:col',
  YALB_ERR_CONFIG_READ: 'lb.yaml could not be read (missing, unreadable, empty, binary or too large)',
  YALB_ERR_LISTEN: 'a listen address (proxy or admin) could not be bound',
  YALB_ERR_BAD_REQUEST: 'a request the proxy cannot forward (malformed target, headers too large or too slow): 400 / 408 / 431',
  YALB_ERR_NO_BACKEND: 'no backend is available for a request (503)',
  YALB_ERR_NO_ROUTE: 'no route of routes: matches the request\'s host and path, and there is no default route (404)',
  YALB_ERR_UPSTREAM_CONNECT: 'a backend refused or did not accept the connection in time',
  YALB_ERR_UPSTREAM_RESET: 'a backend closed the connection before answering',
  YALB_ERR_UPSTREAM_TIMEOUT: 'a backend did not start its response within timeouts.response (504)',
  YALB_ERR_UPSTREAM_IDLE: 'an exchange with a backend saw no byte for timeouts.idle',
  YALB_ERR_ATTEMPTS_EXHAUSTED: 'every attempt on every allowed backend failed (502)',
  YALB_ERR_RETRY_BUDGET: 'a retry was refused because retry.budget was spent (502)',
  YALB_ERR_QUEUE_FULL: 'every backend was at its maxConnections and queue.size requests were already waiting (503, Retry-After)',
  YALB_ERR_QUEUE_TIMEOUT: 'every backend stayed at its maxConnections for queue.timeout while the request waited (503, Retry-After)',
  YALB_ERR_LOOP: 'a request came back to the yalb that sent it (a backend points at yalb itself): 508',
  YALB_ERR_CLIENT_TIMEOUT: 'a request body stopped arriving for timeouts.clientIdle (408)',
  YALB_ERR_CLIENT_ABORT: 'the client went away before the response was complete (logged as 499)',
  YALB_ERR_RELOAD_FAILED: 'a reload was refused; the previous config keeps serving',
  YALB_ERR_PID_FILE: 'the pid file is held by a live yalb, or could not be written or read',
  YALB_ERR_NOT_RUNNING: 'no yalb daemon is running for this pid file or admin address',
  YALB_ERR_ADMIN: 'the admin API could not be reached or answered with an error',
  YALB_ERR_UNIDENTIFIED: 'yalb stop could not prove that the pid the admin API reports is the local process serving it; nothing was signalled',
  YALB_ERR_USAGE: 'the command line was not understood',
  YALB_ERR_WORKER: 'a worker process (workers: > 1) could not start',
  YALB_ERR_TLS_CERTIFICATE: 'a renewed or changed certificate pair failed its checks (unreadable, not PEM, key does not match, expired, no names); the pair served before keeps serving (logged, and in /status certificates[].lastLoad)',
} as const;

/** ErrorCode is one of the stable `YALB_ERR_*` strings. */
export type ErrorCode = keyof typeof ErrorCodes;

/** YalbError is the base of every error yalb throws on purpose. */
export class YalbError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'YalbError';
    this.code = code;
  }
}

/** isYalbError narrows an unknown thrown value to a YalbError. */
export function isYalbError(err: unknown): err is YalbError {
  return err instanceof YalbError;
}
