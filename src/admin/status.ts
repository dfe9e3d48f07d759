/**
 * The /status document: one type for the admin server that serves it, for
 * `yalb status` that prints it and for the tests that read it. Built here
 * from plain parts the daemon hands over (StatusParts), so nothing outside
 * admin/ assembles it by hand.
 */
import type { Backend, BackendStateName } from '../pool/backend.js';
import type { Pool } from '../pool/pool.js';
import type { GitInfo } from './git.js';
import type { TallySnapshot } from './request-tally.js';
import type { CertificateDoc } from '../tls/store.js';

/**
 * WorkerReport is what one serving process tells the primary when asked
 * (plain data over IPC): who it is, what it served, and its live counters
 * per backend (`traffic`: [url, inFlight, requests, failures]).
 */
export interface WorkerReport {
  id: number;
  pid: number;
  startedAt: number;
  requests: number;
  inFlight: number;
  generation: number;
  /** queue: requests waiting for a backend slot now, and those turned away (full, timed out) since start. */
  queue: QueueDoc;
  tally: TallySnapshot;
  traffic: Array<[url: string, inFlight: number, requests: number, failures: number]>;
  /** connections: client connections open in the process now. */
  connections?: number;
}

/** QueueDoc is the request queue (maxConnections + queue:) in /status: waiting now, turned away since start. */
export interface QueueDoc {
  length: number;
  full: number;
  timedOut: number;
}

/** queueDoc copies a request queue's counters (proxy/queue.ts RequestQueue) for /status. */
export function queueDoc(q: QueueDoc): QueueDoc {
  return { length: q.length, full: q.full, timedOut: q.timedOut };
}

/** WorkerDoc is one serving process in /status. */
export interface WorkerDoc {
  id: number;
  pid: number;
  /** upSince: ISO time the process started serving. */
  upSince: string;
  requests: number;
  inFlight: number;
  /** generation: the config generation the worker serves new requests with. */
  generation: number;
}

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
  /** configLoadedAt: ISO time the serving config was applied (start or reload). */
  configLoadedAt?: string;
  /** configGit: the commit the serving config was read at, when its file is in a Git work tree (absent otherwise). */
  configGit?: GitInfo;
  generation: number;
  lastReload: LastReloadDoc | null;
  listen: string;
  strategy: string;
  engine: string;
  draining: boolean;
  panic: boolean;
  inFlight: number;
  retryBudget: { ratio: number; retriesInFlight: number; refused: number };
  /** workers: the processes that serve (one entry, this process, without workers:). */
  workers: WorkerDoc[];
  /** queue: requests waiting for a full pool now (summed over workers), the size allowed, and those turned away. */
  queue: QueueDoc & { size: number };
  /** backends: every distinct backend, one entry per URL (in every pool that lists it: one state). */
  backends: BackendDoc[];
  /** certificates: what the HTTPS listener serves (tls:), each with its last load result; [] without TLS. */
  certificates?: CertificateDoc[];
  /** pools: each pool with its strategy and backends (weights are the pool's); one entry, "default", without pools:. */
  pools: PoolDoc[];
  /** routes: routes: of lb.yaml, in order (empty without routes:: every request goes to the one pool). */
  routes: RouteDoc[];
}

/** PoolDoc is one pool in /status (routes, issue 15). */
export interface PoolDoc {
  name: string;
  strategy: string;
  panic: boolean;
  backends: BackendDoc[];
}

/** RouteDoc is one route in /status: its match (null = the default route) and its pool. */
export interface RouteDoc {
  match: { host?: string | undefined; pathPrefix?: string | undefined; stripPrefix: boolean } | null;
  pool: string;
}

/** StatusParts are the facts the daemon hands over to build the document. */
export interface StatusParts {
  version: string;
  pid: number;
  startedAt: number;
  now: number;
  configFile: string;
  configHash: string;
  configLoadedAt?: string | undefined;
  configGit?: GitInfo | undefined;
  generation: number;
  lastReload: LastReloadDoc | undefined;
  listen: string;
  strategy: string;
  engine: string;
  draining: boolean;
  inFlight: number;
  retryBudget: { ratio: number; retriesInFlight: number; refused: number };
  pool: Pool;
  /** pools: every pool, in order (default: [pool]). */
  pools?: readonly Pool[];
  /** backends: every distinct backend (default: pool's). */
  backends?: readonly Backend[];
  routes?: RouteDoc[];
  /** workers: every serving process's report (with one process: this one's). */
  workers: WorkerReport[];
  /** clustered: the backends' traffic counters are the workers' sums, not this process's. */
  clustered: boolean;
  queueSize: number;
}

/** Traffic is one backend's live counters, summed over workers. */
export type Traffic = { inFlight: number; requests: number; failures: number };

/** sumTraffic adds up the workers' per-backend counters, by backend URL. */
export function sumTraffic(workers: readonly WorkerReport[]): Map<string, Traffic> {
  const summed = new Map<string, Traffic>();
  for (const w of workers) {
    for (const [url, inFlight, requests, failures] of w.traffic) {
      const t = summed.get(url) ?? { inFlight: 0, requests: 0, failures: 0 };
      t.inFlight += inFlight;
      t.requests += requests;
      t.failures += failures;
      summed.set(url, t);
    }
  }
  return summed;
}

function backendDoc(b: Backend, summed: Map<string, Traffic> | undefined): BackendDoc {
  const h = b.state;
  const t = summed ? (summed.get(b.url) ?? { inFlight: 0, requests: 0, failures: 0 }) : b.traffic;
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
  const pools = p.pools ?? [p.pool];
  for (const pool of pools) pool.refresh();
  const summed = p.clustered ? sumTraffic(p.workers) : undefined;
  const list = p.backends ?? p.pool.backends;
  // One pool: its entry shares the top-level documents (built once).
  const all = list.map((b) => backendDoc(b, summed));
  return {
    version: p.version,
    pid: p.pid,
    uptimeSeconds: Math.round((p.now - p.startedAt) / 1000),
    configFile: p.configFile,
    configHash: p.configHash,
    ...(p.configLoadedAt ? { configLoadedAt: p.configLoadedAt } : {}),
    ...(p.configGit ? { configGit: p.configGit } : {}),
    generation: p.generation,
    lastReload: p.lastReload ?? null,
    listen: p.listen,
    strategy: p.strategy,
    engine: p.engine,
    draining: p.draining,
    panic: pools.some((x) => x.panic),
    inFlight: p.inFlight,
    retryBudget: p.retryBudget,
    workers: p.workers.map((w) => ({
      id: w.id, pid: w.pid, upSince: new Date(w.startedAt).toISOString(), requests: w.requests, inFlight: w.inFlight, generation: w.generation,
    })),
    queue: {
      size: p.queueSize,
      length: p.workers.reduce((n, w) => n + w.queue.length, 0),
      full: p.workers.reduce((n, w) => n + w.queue.full, 0),
      timedOut: p.workers.reduce((n, w) => n + w.queue.timedOut, 0),
    },
    backends: all,
    pools: pools.map((x) => ({
      name: x.name, strategy: x.description.strategy, panic: x.panic,
      backends: x.backends === list ? all : x.backends.map((b) => backendDoc(b, summed)),
    })),
    routes: p.routes ?? [],
  };
}
