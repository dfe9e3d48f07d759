/**
 * The health state machine, pure: probe results (active checks) with
 * HAProxy's rise/fall hysteresis, and live-traffic results (passive checks)
 * with Envoy-style outlier ejection, growing ejection time and probation.
 * Functions take the state, the rules and the time, mutate the state and
 * return the transition (if any) so the caller can log it once.
 */
import type { BackendState, HealthStatus } from './backend.js';

/** ProbeRules are the active-check thresholds (healthCheck.rise / fall). */
export interface ProbeRules {
  rise: number;
  fall: number;
}

/** PassiveRules are the outlier-detection settings (passive.*). */
export interface PassiveRules {
  /** consecutiveFailures in a row eject a backend; 0 disables passive checks. */
  consecutiveFailures: number;
  ejectForMs: number;
}

/** MAX_EJECTION_MULTIPLIER caps how much a repeated ejection can grow (Envoy max_ejection_time). */
export const MAX_EJECTION_MULTIPLIER = 10;

/**
 * Transition describes one change of state, for the log and /status. Most
 * are about one backend (`url`); `kind: 'panic'` is about the whole pool
 * (url is then PANIC_URL) and goes `to: 'panic'` when panic mode starts and
 * `to: 'normal'` when it ends.
 */
export interface Transition {
  url: string;
  kind: 'health' | 'ejected' | 'returned' | 'panic';
  to: HealthStatus | 'ejected' | 'probation' | 'panic' | 'normal';
  reason: string;
  /** pool: the pool a panic transition is about (several pools: routes). */
  pool?: string | undefined;
}

/** PANIC_URL stands in for a backend URL in pool-wide transitions (panic mode). */
export const PANIC_URL = 'pool';

/**
 * formatMs renders a duration for log lines and /status: "300ms" below a
 * second, else seconds ("30s", "1.5s"). Why: ejectFor may be sub-second in
 * tests and small deployments, and "ejected 0s" says nothing.
 */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(1))}s`;
}

/**
 * applyProbe records one probe result. The first probe decides the state
 * directly; after that `rise` passes in a row bring a down backend up and
 * `fall` failures in a row take an up backend down.
 */
export function applyProbe(s: BackendState, ok: boolean, reason: string, rules: ProbeRules, now: number, ms = 0): Transition | undefined {
  s.lastProbe = { at: now, ok, reason, ms };
  if (ok) {
    s.passes++;
    s.fails = 0;
  } else {
    s.fails++;
    s.passes = 0;
  }
  const first = !s.probed;
  s.probed = true;
  let to: HealthStatus | undefined;
  let why = '';
  if (s.health === 'up' && !ok && (first || s.fails >= rules.fall)) {
    to = 'down';
    why = first ? `first probe failed: ${reason}` : `${s.fails} failed probes: ${reason}`;
  } else if (s.health === 'down' && ok && (first || s.passes >= rules.rise)) {
    to = 'up';
    why = first ? 'first probe passed' : `${s.passes} passing probes`;
  }
  if (!to) return undefined;
  s.health = to;
  s.reason = why;
  s.since = now;
  if (to === 'up') {
    s.upSince = first ? 0 : now;
    s.consecutiveFailures = 0;
  }
  return { url: s.url, kind: 'health', to, reason: why };
}

/**
 * applyOutcome records one live-traffic result for passive checks.
 * `mayEject` is asked before an ejection (it enforces maxEjectedPercent).
 * A backend back from an ejection is on probation: its next failure ejects
 * it again, for longer; a run of `consecutiveFailures` successes clears its
 * ejection count.
 */
export function applyOutcome(
  s: BackendState, ok: boolean, reason: string, rules: PassiveRules, now: number, mayEject: () => boolean,
): Transition | undefined {
  if (rules.consecutiveFailures <= 0) return undefined;
  const onProbation = s.ejections > 0 && !s.ejected(now);
  if (ok) {
    s.consecutiveFailures = Math.min(0, s.consecutiveFailures) - 1; // negative = run of successes
    if (onProbation && -s.consecutiveFailures >= rules.consecutiveFailures) {
      s.ejections = 0;
      s.consecutiveFailures = 0;
    }
    return undefined;
  }
  if (s.ejected(now)) return undefined; // stray result of a request that started before the ejection
  s.consecutiveFailures = Math.max(0, s.consecutiveFailures) + 1;
  const threshold = onProbation ? 1 : rules.consecutiveFailures;
  if (s.consecutiveFailures < threshold || !mayEject()) return undefined;
  s.ejections++;
  const forMs = rules.ejectForMs * Math.min(s.ejections, MAX_EJECTION_MULTIPLIER);
  s.ejectedUntil = now + forMs;
  s.ejectedForMs = forMs;
  const why = `ejected ${formatMs(forMs)}: ${onProbation ? 'failed on probation' : `${s.consecutiveFailures} consecutive failures`}: ${reason}`;
  s.consecutiveFailures = 0;
  s.reason = why;
  s.since = now;
  return { url: s.url, kind: 'ejected', to: 'ejected', reason: why };
}

/**
 * applyClock ends an ejection whose time is over. Ejections end by the
 * clock, not by an event, and the pool has no timers, so the pool calls this
 * whenever it is used (a pick, a probe result, a live-traffic result): the
 * return is then noticed and logged once, at most one probe interval late.
 * The backend comes back on probation (see applyOutcome). When active checks
 * took it down meanwhile it stays down, and its reason is kept.
 */
export function applyClock(s: BackendState, now: number): Transition | undefined {
  if (s.ejectedUntil === 0 || s.ejectedUntil > now) return undefined;
  const at = s.ejectedUntil;
  s.ejectedUntil = 0;
  const why = `ejection of ${formatMs(s.ejectedForMs)} over; on probation`;
  if (s.health === 'up') {
    s.reason = why;
    s.since = at;
  }
  return { url: s.url, kind: 'returned', to: 'probation', reason: why };
}

/**
 * describeTransition says how a transition is logged: the line, its level
 * (panic start is an error; down, ejected and panic end are warnings; up
 * and probation are info) and its facts as fields (backend, state, reason).
 * Pure; the daemon writes it.
 */
export function describeTransition(t: Transition): { level: 'error' | 'warn' | 'info'; line: string; fields: Record<string, string> } {
  if (t.kind === 'panic') {
    const pool = t.pool && t.pool !== 'default' ? ` ${t.pool}` : '';
    return { level: t.to === 'panic' ? 'error' : 'warn', line: `pool${pool}: ${t.reason}`, fields: { event: 'panic', ...(t.pool ? { pool: t.pool } : {}), state: t.to, reason: t.reason } };
  }
  return {
    level: t.to === 'up' || t.to === 'probation' ? 'info' : 'warn',
    line: `backend ${t.url} ${t.to}: ${t.reason}`,
    fields: { event: t.kind, backend: t.url, state: t.to, reason: t.reason },
  };
}
