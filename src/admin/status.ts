/**
 * The /status document: one type for the admin server that serves it, for
 * `yalb status` that prints it and for the tests that read it. Built here
 * from plain parts the daemon hands over (StatusParts), so nothing outside
 * admin/ assembles it by hand.
 */
import type { Backend, BackendStateName } from '../pool/backend.js';
import type { Pool } from '../pool/pool.js';

/** LastReloadDoc is the latest reload attempt, as /status shows it. */
export type LastReloadDoc =
  | { ok: true; at: string; hash: string; trigger: string; changes: string[] }
  | { ok: false; at: string; errors: string[]; trigger: string };

/** BackendDoc is one backend in /status. */
export interface BackendDoc {
  url: string;
  state: BackendStateName;
  reason: string;
  /** since: ISO time of the last change of state. */
  since: string;
  weight: number;
  inFlight: number;
  requests: number;
  /** failures: attempts that failed (connect, reset, timeout, 5xx or cut response); never client aborts. */
  failures: number;
  ejections: number;
  lastProbe: { at: string; ok: boolean; reason: string; ms: number } | null;
}

/** StatusDocument is the JSON body of GET /status. */
export interface StatusDocument {
  version: string;
  pid: number;
  uptimeSeconds: number;
  configFile: string;
  configHash: string;
  generation: number;
  lastReload: LastReloadDoc | null;
  listen: string;
  strategy: string;
  engine: string;
  draining: boolean;
  panic: boolean;
  inFlight: number;
  retryBudget: { ratio: number; retriesInFlight: number; refused: number };
  backends: BackendDoc[];
}

/** StatusParts are the facts the daemon hands over to build the document. */
export interface StatusParts {
  version: string;
  pid: number;
  startedAt: number;
  now: number;
  configFile: string;
  configHash: string;
  generation: number;
  lastReload: LastReloadDoc | undefined;
  listen: string;
  strategy: string;
  engine: string;
  draining: boolean;
  inFlight: number;
  retryBudget: { ratio: number; retriesInFlight: number; refused: number };
  pool: Pool;
}

function backendDoc(b: Backend): BackendDoc {
  const h = b.state;
  const t = b.traffic;
  return {
    url: b.url,
    state: b.stateName,
    reason: b.draining ? `drain: true in lb.yaml (health: ${h.health}, ${h.reason})` : h.reason,
    since: new Date(h.since).toISOString(),
    weight: b.weight,
    inFlight: t.inFlight,
    requests: t.requests,
    failures: t.failures,
    ejections: h.ejections,
    lastProbe: h.lastProbe ? { ...h.lastProbe, at: new Date(h.lastProbe.at).toISOString(), ms: Math.round(h.lastProbe.ms) } : null,
  };
}

/** statusDocument builds /status; it refreshes the pool first so ejections whose time is over show as ended. */
export function statusDocument(p: StatusParts): StatusDocument {
  p.pool.refresh();
  return {
    version: p.version,
    pid: p.pid,
    uptimeSeconds: Math.round((p.now - p.startedAt) / 1000),
    configFile: p.configFile,
    configHash: p.configHash,
    generation: p.generation,
    lastReload: p.lastReload ?? null,
    listen: p.listen,
    strategy: p.strategy,
    engine: p.engine,
    draining: p.draining,
    panic: p.pool.panic,
    inFlight: p.inFlight,
    retryBudget: p.retryBudget,
    backends: p.pool.backends.map(backendDoc),
  };
}
