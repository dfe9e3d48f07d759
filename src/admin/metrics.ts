/**
 * Prometheus metrics on a registry the daemon owns (never prom-client's
 * global one, so two daemons can live in one process). On the request path
 * only pre-bound children are touched: `requestCounter(backend, code)`
 * caches the labelled child, so a request costs a Map lookup and an inc().
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** BackendGaugeSource lets the metrics read per-backend state at scrape time. */
export interface BackendGaugeSource {
  backends(): Array<{ url: string; up: boolean; inFlight: number }>;
}

/** Metrics groups every yalb metric on one registry. */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'backend' | 'code'>;
  readonly #duration: Histogram<'code'>;
  readonly retries: Counter<'reason' | 'result'>;
  readonly reloads: Counter<'result'>;
  readonly lastReloadSuccess: Gauge;
  readonly #children = new Map<string, { inc: () => void }>();
  readonly #durationChildren = new Map<number, { observe: (v: number) => void }>();

  constructor(source: BackendGaugeSource, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'yalb_requests_total', help: 'Requests answered, by backend and status code.', labelNames: ['backend', 'code'], registers });
    this.#duration = new Histogram({
      name: 'yalb_request_duration_seconds', help: 'Time from request to response end.', labelNames: ['code'], registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
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
    const key = `${backend ?? 'none'} ${code}`;
    let child = this.#children.get(key);
    if (!child) {
      child = this.#requests.labels(backend ?? 'none', String(code));
      this.#children.set(key, child);
    }
    child.inc();
    let d = this.#durationChildren.get(code);
    if (!d) {
      d = this.#duration.labels(String(code));
      this.#durationChildren.set(code, d);
    }
    d.observe(seconds);
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
