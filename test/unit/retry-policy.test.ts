/**
 * decide() as a table: every outcome kind × idempotent / non-idempotent
 * method × replayable body × counters below and at their limits. The table
 * is the contract's retry rules written out (CONTRACT.md, Behaviour).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttemptOutcome, type Decision, decide, IDEMPOTENT_METHODS, type RequestProgress } from '../../src/proxy/retry-policy.js';

const rules = { sameBackend: 3, maxAttempts: 3 };

interface Row {
  outcome: AttemptOutcome;
  method: string;
  replayable: boolean;
  /** counters: sameBackendRetries, attempts, raceRetried (defaults 0, 1, false) */
  same?: number;
  attempts?: number;
  race?: boolean;
  want: Decision;
}

const DONE: Decision = { action: 'done' };
const refused: AttemptOutcome = { kind: 'connect-failed', code: 'ECONNREFUSED' };
const connTimeout: AttemptOutcome = { kind: 'connect-failed', code: 'ECONNECT_TIMEOUT' };
const reset: AttemptOutcome = { kind: 'sent-failed', code: 'ECONNRESET', reused: false };
const race: AttemptOutcome = { kind: 'sent-failed', code: 'ECONNRESET', reused: true };
const respTimeout: AttemptOutcome = { kind: 'timeout', phase: 'response' };
const idleTimeout: AttemptOutcome = { kind: 'timeout', phase: 'idle' };

const rows: Row[] = [];
const methods = ['GET', 'POST'] as const;
const bools = [true, false] as const;

// A response (complete or not, any status) and a client abort end the request, whatever else holds.
for (const method of methods) {
  for (const replayable of bools) {
    for (const outcome of [
      { kind: 'response', status: 200, complete: true },
      { kind: 'response', status: 503, complete: true },
      { kind: 'response', status: 200, complete: false },
      { kind: 'client-abort' },
    ] as AttemptOutcome[]) {
      rows.push({ outcome, method, replayable, want: DONE });
      rows.push({ outcome, method, replayable, same: 3, attempts: 3, race: true, want: DONE });
    }
  }
}

// A connect failure never reached the backend: any method with a body that can still be sent goes again.
for (const method of methods) {
  for (const outcome of [refused, connTimeout]) {
    rows.push({ outcome, method, replayable: true, same: 0, want: { action: 'retry-same', delay: true } });
    rows.push({ outcome, method, replayable: true, same: 2, want: { action: 'retry-same', delay: true } });
    rows.push({ outcome, method, replayable: true, same: 3, attempts: 1, want: { action: 'next-backend', markDown: true } });
    rows.push({ outcome, method, replayable: true, same: 3, attempts: 2, want: { action: 'next-backend', markDown: true } });
    rows.push({ outcome, method, replayable: true, same: 3, attempts: 3, want: { action: 'fail', kind: 'connect', markDown: true } });
    // A body that can no longer be sent in full is never resent (defensive: the gate makes this rare).
    rows.push({ outcome, method, replayable: false, same: 0, want: { action: 'fail', kind: 'connect' } });
    rows.push({ outcome, method, replayable: false, same: 3, attempts: 3, want: { action: 'fail', kind: 'connect' } });
  }
}

// A reset after the request may have reached the backend: only idempotent + replayable goes again;
// otherwise it fails as a reset (502 YALB_ERR_UPSTREAM_RESET), and resets on every allowed backend as exhausted.
for (const outcome of [reset, race]) {
  rows.push({ outcome, method: 'POST', replayable: true, want: { action: 'fail', kind: 'reset' } });
  rows.push({ outcome, method: 'POST', replayable: false, want: { action: 'fail', kind: 'reset' } });
  rows.push({ outcome, method: 'GET', replayable: false, want: { action: 'fail', kind: 'reset' } });
}
rows.push({ outcome: reset, method: 'GET', replayable: true, attempts: 1, want: { action: 'next-backend', markDown: false } });
rows.push({ outcome: reset, method: 'GET', replayable: true, attempts: 2, want: { action: 'next-backend', markDown: false } });
rows.push({ outcome: reset, method: 'GET', replayable: true, attempts: 3, want: { action: 'fail', kind: 'attempts-exhausted', markDown: false } });
// The keep-alive race (reset on a reused socket) goes once more to the same backend, without delay.
rows.push({ outcome: race, method: 'GET', replayable: true, want: { action: 'retry-same', delay: false } });
rows.push({ outcome: race, method: 'GET', replayable: true, attempts: 3, want: { action: 'retry-same', delay: false } });
rows.push({ outcome: race, method: 'GET', replayable: true, race: true, attempts: 1, want: { action: 'next-backend', markDown: false } });
rows.push({ outcome: race, method: 'GET', replayable: true, race: true, attempts: 3, want: { action: 'fail', kind: 'attempts-exhausted', markDown: false } });

// A response timeout: idempotent + replayable goes to the next backend (504 once none is left); an idle timeout never (504 idle).
rows.push({ outcome: respTimeout, method: 'GET', replayable: true, attempts: 1, want: { action: 'next-backend', markDown: false } });
rows.push({ outcome: respTimeout, method: 'GET', replayable: true, attempts: 3, want: { action: 'fail', kind: 'timeout', markDown: false } });
rows.push({ outcome: respTimeout, method: 'GET', replayable: false, want: { action: 'fail', kind: 'timeout' } });
rows.push({ outcome: respTimeout, method: 'POST', replayable: true, want: { action: 'fail', kind: 'timeout' } });
rows.push({ outcome: respTimeout, method: 'POST', replayable: false, want: { action: 'fail', kind: 'timeout' } });
for (const method of methods) {
  for (const replayable of bools) rows.push({ outcome: idleTimeout, method, replayable, want: { action: 'fail', kind: 'idle' } });
}

test('decide() table', () => {
  for (const r of rows) {
    const p: RequestProgress = {
      attempts: r.attempts ?? 1, sameBackendRetries: r.same ?? 0, raceRetried: r.race ?? false,
      method: r.method, replayable: r.replayable,
    };
    assert.deepEqual(decide(r.outcome, p, rules), r.want, `${JSON.stringify(r.outcome)} ${r.method} replayable=${r.replayable} same=${p.sameBackendRetries} attempts=${p.attempts} race=${p.raceRetried}`);
  }
  assert.ok(rows.length > 60, `table has ${rows.length} rows`);
});

test('decide() is pure: it does not change the progress it reads', () => {
  const p: RequestProgress = { attempts: 1, sameBackendRetries: 0, raceRetried: false, method: 'GET', replayable: true };
  const before = { ...p };
  for (const o of [refused, reset, race, respTimeout, idleTimeout]) decide(o, p, rules);
  assert.deepEqual(p, before);
});

test('sameBackend 0 and maxAttempts 1 turn retries off', () => {
  const off = { sameBackend: 0, maxAttempts: 1 };
  const p: RequestProgress = { attempts: 1, sameBackendRetries: 0, raceRetried: false, method: 'GET', replayable: true };
  assert.deepEqual(decide(refused, p, off), { action: 'fail', kind: 'connect', markDown: true });
  assert.deepEqual(decide(reset, p, off), { action: 'fail', kind: 'attempts-exhausted', markDown: false });
  assert.deepEqual(decide(respTimeout, p, off), { action: 'fail', kind: 'timeout', markDown: false });
  // sameBackend 0 with attempts left: straight to the next backend
  assert.deepEqual(decide(refused, p, { sameBackend: 0, maxAttempts: 3 }), { action: 'next-backend', markDown: true });
});

test('idempotent methods are RFC 9110 §9.2.2', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) assert.ok(IDEMPOTENT_METHODS.has(m), m);
  for (const m of ['POST', 'PATCH', 'CONNECT', 'get']) assert.ok(!IDEMPOTENT_METHODS.has(m), m);
  const p = (method: string): RequestProgress => ({ attempts: 1, sameBackendRetries: 0, raceRetried: false, method, replayable: true });
  assert.equal(decide(reset, p('PUT'), rules).action, 'next-backend');
  assert.equal(decide(reset, p('PATCH'), rules).action, 'fail');
});
