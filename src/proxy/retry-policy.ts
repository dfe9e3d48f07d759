/**
 * The retry decision, pure: given how an attempt ended and what this request
 * has done so far, say what to do next. The loop in handle-request.ts acts
 * on it; nothing re-enters the proxy from an error callback.
 *
 * Rules (the contract, after Caddy's tryAgain and undici's retry handler):
 * - A connect failure never reached the backend, so any request whose body
 *   can still be sent in full may go again: first `retry.sameBackend` times
 *   on the same backend, `retry.delay` apart (the seed), then on the next
 *   backend.
 * - A failure after the request may have been sent (`sent-failed`, e.g. a
 *   reset) or a timeout is
 *   retried only for idempotent methods whose body can be replayed; a reset
 *   on a reused keep-alive socket (the keep-alive race: the backend closed an
 *   idle socket as we wrote to it) goes once more to the same backend.
 * - A response that has started is never retried.
 */

import type { AttemptOutcome } from './engine.js';

export type { AttemptOutcome };

/** Decision is what the loop does next. */
export type Decision =
  | { action: 'done' }
  | { action: 'retry-same'; delay: boolean }
  | { action: 'next-backend'; markDown: boolean }
  | { action: 'fail'; kind: FailKind; markDown?: boolean };

/**
 * FailKind says why a request failed, for its status and error code: every
 * connect refused or timed out (502), a reset that cannot be replayed (502),
 * retries used up after resets (502), a response timeout or an idle
 * exchange (504).
 */
export type FailKind = 'connect' | 'reset' | 'attempts-exhausted' | 'timeout' | 'idle';

/** RequestProgress is the loop's counters for one request. */
export interface RequestProgress {
  /** attempts: distinct backends tried so far (including the current one). */
  attempts: number;
  /** sameBackendRetries: retries on the current backend so far. */
  sameBackendRetries: number;
  /** raceRetried: whether the keep-alive race retry was already used. */
  raceRetried: boolean;
  method: string;
  /** replayable: the body is buffered or was never read, so it can be sent again. */
  replayable: boolean;
}

/** RetryRules are the lb.yaml retry settings decide() needs. */
export interface RetryRules {
  sameBackend: number;
  maxAttempts: number;
}

/** IDEMPOTENT_METHODS may be sent twice without changing the result (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** decide maps an attempt outcome to the loop's next step. */
export function decide(outcome: AttemptOutcome, p: RequestProgress, rules: RetryRules): Decision {
  switch (outcome.kind) {
    case 'response':
    case 'client-abort':
      return { action: 'done' };
    case 'connect-failed':
      // The request never reached the backend, but a streamed body that has
      // started to flow (it is released once a socket connects) cannot be
      // sent again in full: resending would hang on a half-empty stream.
      if (!p.replayable) return { action: 'fail', kind: 'connect' };
      if (p.sameBackendRetries < rules.sameBackend) return { action: 'retry-same', delay: true };
      return nextOr(p, rules, true, 'connect');
    case 'sent-failed': {
      const safe = p.replayable && IDEMPOTENT_METHODS.has(p.method);
      if (!safe) return { action: 'fail', kind: 'reset' };
      if (outcome.reused && !p.raceRetried) return { action: 'retry-same', delay: false };
      return nextOr(p, rules, false, 'attempts-exhausted');
    }
    case 'timeout': {
      const safe = p.replayable && IDEMPOTENT_METHODS.has(p.method);
      if (outcome.phase === 'idle') return { action: 'fail', kind: 'idle' };
      if (!safe) return { action: 'fail', kind: 'timeout' };
      return nextOr(p, rules, false, 'timeout');
    }
  }
}

function nextOr(p: RequestProgress, rules: RetryRules, markDown: boolean, kind: FailKind): Decision {
  if (p.attempts < rules.maxAttempts) return { action: 'next-backend', markDown };
  return { action: 'fail', kind, markDown };
}
