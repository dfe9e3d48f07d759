/**
 * Prometheus metrics on a registry the daemon owns (never prom-client's
 * global one, so two daemons can live in one process). The request path
 * touches no prom-client object: finished requests go to a RequestTally
 * (plain numbers), which the registry reads when it is scraped.
 */
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { type MetricData, RequestTally } from './request-tally.js';

/** scraped registers a metric whose values are computed at scrape time. */
function scraped(registry: Registry, data: () => MetricData): void {
  const { name, help, type } = data();
  const metric = { name, help, type, aggregator: 'sum', get: async () => data(), reset: () => {} };
  registry.registerMetric(metric as unknown as Metric);
}

/** BackendGaugeSource lets the metrics read per-backend state at scrape time. */
export interface BackendGaugeSource {
  backends(): Array<{ url: string; up: boolean; inFlight: number }>;
}

/** Metrics groups every yalb metric on one registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly #tally = new RequestTally();
  readonly retries: Counter<'reason' | 'result'>;
  readonly reloads: Counter<'result'>;
  readonly lastReloadSuccess: Gauge;

  constructor(source: BackendGaugeSource, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    scraped(this.registry, () => this.#tally.requestsMetric());
    scraped(this.registry, () => this.#tally.durationMetric());
    this.retries = new Counter({ name: 'yalb_retries_total', help: 'Retries asked for, by reason and whether the budget granted them.', labelNames: ['reason', 'result'], registers });
    this.reloads = new Counter({ name: 'yalb_config_reloads_total', help: 'Config reloads, by result.', labelNames: ['result'], registers });
    this.lastReloadSuccess = new Gauge({ name: 'yalb_config_last_reload_success_timestamp_seconds', help: 'Time of the last successful config load.', registers });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    new Gauge({
      name: 'yalb_backend_up', help: '1 when the backend may take requests, else 0.', labelNames: ['backend'], registers,
      collect() {
        this.reset();
        for (const b of source.backends()) this.set({ backend: b.url }, b.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'yalb_backend_in_flight', help: 'Requests in flight to the backend.', labelNames: ['backend'], registers,
      collect() {
        this.reset();
        for (const b of source.backends()) this.set({ backend: b.url }, b.inFlight);
      },
    });
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'yalb_' });
  }

  /** observeRequest counts one finished request (backend "none" when no backend answered). */
  observeRequest(backend: string | undefined, code: number, seconds: number): void {
    this.#tally.observe(backend, code, seconds);
  }

  /** observeReload counts one reload attempt; a success also sets the last-success time. */
  observeReload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.lastReloadSuccess.set(Date.now() / 1000);
  }

  /** text renders the Prometheus exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
