/**
 * The request path's observer, one for a single process and for each
 * cluster worker: every finished request, attempt, retry, connection and
 * answer the listener wrote goes to plain counters (RequestTally, read at
 * scrape time) and, for requests, to the access log. Nothing here touches
 * prom-client.
 */
import type { AttemptOutcomeName, RequestTally } from '../admin/request-tally.js';
import type { AttemptOutcome } from '../proxy/engine.js';
import type { ProxyObserver } from '../proxy/handle-request.js';
import { type AccessLog, bytesOf } from './access-log.js';

/** attemptOutcomeName is the `outcome` label of an attempt (yalb_backend_attempts_total). */
export function attemptOutcomeName(o: AttemptOutcome): AttemptOutcomeName {
  switch (o.kind) {
    case 'response': return !o.complete ? 'cut' : o.status >= 500 ? '5xx' : 'ok';
    case 'connect-failed': return 'connect-failed';
    case 'sent-failed': return 'reset';
    case 'timeout': return o.phase === 'idle' ? 'idle-timeout' : 'timeout';
    case 'client-abort': return 'client-abort';
  }
}

/** tallyObserver counts into `tally` and writes access lines to `accessLog`. */
export function tallyObserver(tally: RequestTally, accessLog: AccessLog): ProxyObserver {
  return {
    requestEnded(r) {
      const relayed = r.failure === undefined && r.backend !== undefined;
      tally.observe(r.backend, r.status, r.durationMs / 1000, relayed);
      if (r.pool !== '') tally.pooled(r.pool, r.status);
      if (r.failure !== undefined) tally.generatedResponse(r.status, r.failure);
      tally.bytesIn += r.bytesIn;
      tally.bytesOut += bytesOf(r) ?? 0;
      accessLog.write(r);
    },
    retried: (backend, reason, result) => tally.retried(backend, reason, result),
    attempted: (backend, outcome) => tally.attempted(backend, attemptOutcomeName(outcome)),
    clientError: (status, reason) => tally.generatedResponse(status, reason),
    connection: (delta) => {
      if (delta === 1) tally.connections++;
    },
  };
}
