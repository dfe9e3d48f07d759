/**
 * Prometheus metrics on a registry the daemon owns (never prom-client's
 * global one, so two daemons can live in one process). The request path
 * touches no prom-client object: finished requests go to a RequestTally
 * (plain numbers), which the registry reads when it is scraped.
 */
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { backendLabels, type MetricData, RequestTally, type TallySnapshot } from './request-tally.js';
import type { WorkerReport } from './status.js';

/** scraped registers a metric whose values are computed at scrape time. */
function scraped(registry: Registry, data: () => MetricData): void {
  const { name, help, type } = data();
  const metric = { name, help, type, aggregator: 'sum', get: async () => data(), reset: () => {} };
  registry.registerMetric(metric as unknown as Metric);
}

/** BackendStateLabel is a value of yalb_backend_state's `state` label. */
export type BackendStateLabel = 'up' | 'down' | 'ejected' | 'draining' | 'slow_start';
/** BACKEND_STATES are every value of yalb_backend_state's `state` label, each a series (1 for the current one). */
export const BACKEND_STATES: readonly BackendStateLabel[] = ['up', 'down', 'ejected', 'draining', 'slow_start'];

/** BackendGaugeSource lets the metrics read per-backend state at scrape time. */
export interface BackendGaugeSource {
  /** backends: one entry per pool and backend (`pool`: its name, routes issue 15). */
  backends(): Array<{ pool?: string; url: string; up: boolean; inFlight: number; state?: BackendStateLabel }>;
  /** queue: requests waiting for a full pool now, and those turned away since start (summed over workers). */
  queue?(): { length: number; full: number; timedOut: number };
  /** info: what yalb_build_info labels (version, the serving engine, the config hash). */
  info?(): { version: string; engine: string; configHash: string };
  /** load: open client connections and requests in flight now (summed over workers). */
  load?(): { connections: number; inFlight: number };
}

/** MetricsOptions: process metrics on or off, and where a cluster primary gets its workers' counts. */
export interface MetricsOptions {
  processMetrics?: boolean | undefined;
  /** collect asks every worker for its counts before a scrape (a cluster primary; absent with one process). */
  collect?: (() => Promise<WorkerReport[]>) | undefined;
  /** retired: the counts of workers that have exited, so that counters never go back when one is replaced. */
  retired?: (() => TallySnapshot) | undefined;
}

/**
 * BackendEvents counts what the health checks decide per backend: probes by
 * result and ejections. They are decided in one process (a cluster's
 * primary), so they are counted there and never summed over workers.
 */
class BackendEvents {
  readonly #probes = new Map<string, { ok: number; failed: number }>();
  readonly #ejections = new Map<string, number>();

  probed(url: string, ok: boolean): void {
    let p = this.#probes.get(url);
    if (!p) {
      p = { ok: 0, failed: 0 };
      this.#probes.set(url, p);
    }
    if (ok) p.ok++;
    else p.failed++;
  }

  ejected(url: string): void {
    this.#ejections.set(url, (this.#ejections.get(url) ?? 0) + 1);
  }

  retain(keep: ReadonlySet<string>): void {
    for (const url of this.#probes.keys()) if (!keep.has(url)) this.#probes.delete(url);
    for (const url of this.#ejections.keys()) if (!keep.has(url)) this.#ejections.delete(url);
  }

  probesMetric(): MetricData {
    const values = [];
    for (const [url, p] of this.#probes) {
      values.push({ value: p.ok, labels: { ...backendLabels(url), result: 'success' } }, { value: p.failed, labels: { ...backendLabels(url), result: 'failure' } });
    }
    return { name: 'yalb_backend_probes_total', help: 'Active health probes, by result (success, failure: refused, timeout, unexpected status…).', type: 'counter', aggregator: 'sum', values };
  }

  /** ejectionsMetric lists every backend of `urls` (0 when never ejected), so rate() sees the first one. */
  ejectionsMetric(urls: readonly string[]): MetricData {
    const values = urls.map((url) => ({ value: this.#ejections.get(url) ?? 0, labels: backendLabels(url) }));
    return { name: 'yalb_backend_ejections_total', help: 'Passive ejections of the backend (outlier detection: passive.consecutiveFailures in a row).', type: 'counter', aggregator: 'sum', values };
  }
}

/** Metrics groups every yalb metric on one registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly #tally = new RequestTally();
  readonly #events = new BackendEvents();
  /** #view is what a scrape reads: this process's tally, plus every worker's in a cluster primary. */
  #view = this.#tally;
  #reports: WorkerReport[] = [];
  readonly #collect: (() => Promise<WorkerReport[]>) | undefined;
  readonly #retired: (() => TallySnapshot) | undefined;
  /** retries is yalb_retries_total (read by tests through get()). */
  readonly retries: { get(): Promise<MetricData> };
  readonly reloads: Counter<'result'>;
  readonly lastReloadSuccess: Gauge;
  readonly lastReloadOk: Gauge;

  constructor(source: BackendGaugeSource, opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.#collect = opts.collect;
    this.#retired = opts.retired;
    scraped(this.registry, () => this.#view.requestsMetric());
    scraped(this.registry, () => this.#view.durationMetric());
    scraped(this.registry, () => this.#view.retriesMetric());
    scraped(this.registry, () => this.#view.generatedMetric());
    scraped(this.registry, () => this.#view.backendRequestsMetric());
    scraped(this.registry, () => this.#view.poolRequestsMetric());
    scraped(this.registry, () => this.#view.backendDurationMetric());
    scraped(this.registry, () => this.#view.attemptsMetric());
    scraped(this.registry, () => this.#view.bytesMetric('in'));
    scraped(this.registry, () => this.#view.bytesMetric('out'));
    scraped(this.registry, () => this.#view.connectionsMetric());
    scraped(this.registry, () => this.#events.probesMetric());
    // A URL in two pools: one series.
    scraped(this.registry, () => this.#events.ejectionsMetric([...new Set(source.backends().map((b) => b.url))]));
    this.retries = { get: async () => this.#view.retriesMetric() };
    this.reloads = new Counter({ name: 'yalb_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers });
    this.lastReloadSuccess = new Gauge({ name: 'yalb_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful config load.', registers });
    this.lastReloadOk = new Gauge({ name: 'yalb_config_last_reload_successful', help: '1 when the last config load or reload succeeded, else 0 (the previous config keeps serving).', registers });
    this.lastReloadOk.set(1);
    const info = source.info?.bind(source);
    if (info) {
      new Gauge({
        name: 'yalb_build_info', help: 'Always 1; labels: version, the engine serving requests, and the hash of the config in use.', labelNames: ['version', 'engine', 'config_hash'], registers,
        collect() {
          this.reset();
          const i = info();
          this.set({ version: i.version, engine: i.engine, config_hash: i.configHash.slice(0, 12) }, 1);
        },
      });
    }
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    new Gauge({
      name: 'yalb_backend_up', help: '1 when the backend may take requests, else 0.', labelNames: ['backend', 'pool'], registers,
      collect() {
        this.reset();
        for (const b of source.backends()) this.set({ backend: b.url, pool: b.pool ?? 'default' }, b.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'yalb_backend_state', help: 'The backend\'s state: one series per state (up, down, ejected, draining, slow_start), 1 for the current one, else 0.', labelNames: ['backend', 'state'], registers,
      collect() {
        this.reset();
        for (const b of source.backends()) {
          const now = b.state ?? (b.up ? 'up' : 'down');
          for (const state of BACKEND_STATES) this.set({ ...backendLabels(b.url), state }, state === now ? 1 : 0);
        }
      },
    });
    const load = source.load?.bind(source);
    if (load) {
      new Gauge({
        name: 'yalb_client_connections', help: 'Client connections open now.', registers,
        collect() { this.set(load().connections); },
      });
      new Gauge({
        name: 'yalb_requests_in_flight', help: 'Requests being served now (WebSocket upgrades included).', registers,
        collect() { this.set(load().inFlight); },
      });
    }
    new Gauge({
      name: 'yalb_backend_in_flight', help: 'Requests in flight to the backend (from every pool that lists it).', labelNames: ['backend', 'pool'], registers,
      collect() {
        this.reset();
        for (const b of source.backends()) this.set({ backend: b.url, pool: b.pool ?? 'default' }, b.inFlight);
      },
    });
    const queue = source.queue?.bind(source);
    if (queue) {
      new Gauge({
        name: 'yalb_queue_length', help: 'Requests waiting for a backend slot (every backend at its maxConnections).', registers,
        collect() { this.set(queue().length); },
      });
      scraped(this.registry, () => {
        const q = queue();
        return {
          name: 'yalb_queue_rejected_total', help: 'Requests turned away by the queue: full (queue.size) or timeout (queue.timeout).', type: 'counter', aggregator: 'sum',
          values: [{ value: q.full, labels: { reason: 'full' } }, { value: q.timedOut, labels: { reason: 'timeout' } }],
        };
      });
    }
    if (opts.collect) {
      // Only with workers: per-worker series mean something there (the `worker` label is the worker's id).
      const reports = () => this.#reports;
      new Gauge({
        name: 'yalb_workers', help: 'Serving worker processes that answered the scrape.', registers,
        collect() { this.set(reports().length); },
      });
      new Gauge({
        name: 'yalb_worker_requests', help: 'Requests a worker has served since it started (resets when a worker is replaced).', labelNames: ['worker'], registers,
        collect() {
          this.reset();
          for (const r of reports()) this.set({ worker: String(r.id) }, r.requests);
        },
      });
      new Gauge({
        name: 'yalb_worker_in_flight', help: 'Requests in flight in a worker.', labelNames: ['worker'], registers,
        collect() {
          this.reset();
          for (const r of reports()) this.set({ worker: String(r.id) }, r.inFlight);
        },
      });
    }
    // Under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), so stock Node dashboards find them.
    if (opts.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges `_total`, which promtool rejects (a
      // counter suffix); their per-type twins stay (nodejs_active_handles{type}
      // …): sum() of those is the same figure.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
  }

  /** tally is this process's request tally (the request path's observer writes to it). */
  get tally(): RequestTally {
    return this.#tally;
  }

  /** retried counts one retry away from `backend`: granted or refused by the budget, or a failover (no slot needed). */
  retried(backend: string, reason: string, result: string): void {
    this.#tally.retried(backend, reason, result);
  }

  /** probed counts one active probe of `url` (in the process that probes: a cluster's primary). */
  probed(url: string, ok: boolean): void {
    this.#events.probed(url, ok);
  }

  /** ejected counts one passive ejection of `url`. */
  ejected(url: string): void {
    this.#events.ejected(url);
  }

  /**
   * retain keeps the per-backend series of `urls` only, at the commit of a
   * reload: a removed backend's series disappear from the next scrape.
   */
  retain(urls: readonly string[], pools?: readonly string[]): void {
    this.#tally.retain(urls);
    if (pools) this.#tally.retainPools(pools);
    this.#events.retain(new Set(urls));
  }

  /** snapshot is this process's request counts as plain data (a worker sends it to the primary). */
  snapshot(): TallySnapshot {
    return this.#tally.snapshot();
  }

  /** observeRequest counts one finished request (backend "none" when no backend answered). */
  observeRequest(backend: string | undefined, code: number, seconds: number): void {
    this.#tally.observe(backend, code, seconds);
  }

  /** observeReload counts one reload attempt; a success also sets the last-success time. */
  observeReload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    this.lastReloadOk.set(ok ? 1 : 0);
    if (ok) this.lastReloadSuccess.set(Date.now() / 1000);
  }

  /** text renders the Prometheus exposition format (in a cluster primary, summed over the workers first). */
  async text(): Promise<string> {
    if (this.#collect) {
      const reports = await this.#collect();
      const view = new RequestTally();
      view.keepFrom(this.#tally);
      view.add(this.#tally.snapshot());
      if (this.#retired) view.add(this.#retired());
      for (const r of reports) view.add(r.tally);
      this.#reports = reports;
      this.#view = view;
    }
    return this.registry.metrics();
  }
}
