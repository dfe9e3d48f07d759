/**
 * Request counts and durations kept as plain numbers on the request path and
 * turned into Prometheus metrics only when scraped. prom-client's labelled
 * children hash their labels on every inc()/observe(); here a finished
 * request costs two Map lookups, a few additions and two bucket searches
 * over 14 bounds, and an attempt one Map lookup and one addition. Measured
 * (1M observations, this machine, before the per-backend series):
 * 780 → 150 ns per request; with the per-backend series, attempts, bytes
 * and the request id (2M requests, busy machine, median of 7): 284 → 453 ns,
 * of ~70 µs CPU a proxied request costs. test/unit/request-tally.test.ts
 * holds it to prom-client's output.
 *
 * Per-backend series live in one BackendSeries per backend, found by its
 * key (the backend URL) and labelled by backendLabels(): a later `pool`
 * label is one more field there and in the key.
 */

/** DURATION_BUCKETS are the upper bounds (seconds) of yalb_request_duration_seconds. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

/** CODE_CLASSES are the status classes of the per-backend series (index: status / 100 - 1). */
export const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * ATTEMPT_OUTCOMES are the `outcome` values of yalb_backend_attempts_total:
 * how one attempt on one backend ended (engine-neutral, see AttemptOutcome).
 */
export const ATTEMPT_OUTCOMES = ['ok', '5xx', 'cut', 'connect-failed', 'reset', 'timeout', 'idle-timeout', 'client-abort'] as const;
export type AttemptOutcomeName = (typeof ATTEMPT_OUTCOMES)[number];
const OUTCOME_INDEX = new Map<string, number>(ATTEMPT_OUTCOMES.map((o, i) => [o, i]));

/** MetricValue is one sample in prom-client's exposition shape. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** MetricData is what a prom-client registry asks a metric's get() for. */
export interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram' | 'gauge';
  aggregator: 'sum';
  values: MetricValue[];
}

interface DurationSeries {
  /** counts[i]: requests that took at most DURATION_BUCKETS[i] and more than the bound before (not cumulative). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** DurationData is a DurationSeries as plain data. */
interface DurationData {
  counts: number[];
  sum: number;
  count: number;
}

const newDuration = (): DurationSeries => ({ counts: new Float64Array(DURATION_BUCKETS.length), sum: 0, count: 0 });

function observeDuration(d: DurationSeries, seconds: number): void {
  d.sum += seconds;
  d.count++;
  for (let i = 0; i < DURATION_BUCKETS.length; i++) {
    if (seconds <= (DURATION_BUCKETS[i] as number)) {
      d.counts[i] = (d.counts[i] as number) + 1;
      return;
    }
  }
}

function addDuration(d: DurationSeries, x: DurationData): void {
  for (let i = 0; i < d.counts.length; i++) d.counts[i] = (d.counts[i] as number) + (x.counts[i] ?? 0);
  d.sum += x.sum;
  d.count += x.count;
}

const durationData = (d: DurationSeries): DurationData => ({ counts: [...d.counts], sum: d.sum, count: d.count });

/** histogramValues renders one histogram series (cumulative buckets, +Inf, sum, count) with `labels`. */
function histogramValues(name: string, d: DurationSeries, labels: Record<string, string>, out: MetricValue[]): void {
  let acc = 0;
  DURATION_BUCKETS.forEach((le, i) => {
    acc += d.counts[i] as number;
    out.push({ value: acc, labels: { le, ...labels }, metricName: `${name}_bucket` });
  });
  out.push({ value: d.count, labels: { le: '+Inf', ...labels }, metricName: `${name}_bucket` });
  out.push({ value: d.sum, labels, metricName: `${name}_sum` });
  out.push({ value: d.count, labels, metricName: `${name}_count` });
}

/** backendLabels are the labels of every per-backend series (add `pool` here and in the key). */
export function backendLabels(backend: string): Record<string, string> {
  return { backend };
}

/** BackendSeries is one backend's request durations by status class and its attempts by outcome. */
interface BackendSeries {
  backend: string;
  /** classes[i]: durations of requests this backend answered with a status of class CODE_CLASSES[i]. */
  classes: Array<DurationSeries | undefined>;
  /** attempts[i]: attempts that ended as ATTEMPT_OUTCOMES[i]. */
  attempts: Float64Array;
}

/** BackendData is a BackendSeries as plain data. */
interface BackendData {
  backend: string;
  classes: Array<DurationData | null>;
  attempts: number[];
}

/**
 * TallySnapshot is a tally as plain data: what a cluster worker sends the
 * primary, which adds every worker's into one (add()) before a scrape.
 */
export interface TallySnapshot {
  /** requests: [backend, code, count, source] (source "backend" or "yalb"). */
  requests: Array<[backend: string, code: string, count: number, source?: string]>;
  durations: Array<{ code: number; counts: number[]; sum: number; count: number }>;
  retries: Array<[backend: string, reason: string, result: string, count: number]>;
  /** backends: per-backend durations by status class and attempts by outcome (absent from older workers). */
  backends?: BackendData[];
  /** generated: responses yalb wrote itself, [status, reason, count]. */
  generated?: Array<[code: number, reason: string, count: number]>;
  /** bytes: request body bytes received, response body bytes sent; connections: client connections accepted. */
  bytesIn?: number;
  bytesOut?: number;
  connections?: number;
  /** pools: requests routed to each pool, by status class ([pool, counts by CODE_CLASSES]). */
  pools?: Array<[pool: string, counts: number[]]>;
}

/** RequestTally counts finished requests, attempts, retries, generated responses, bytes and connections. */
export class RequestTally {
  readonly #requests = new Map<string, { backend: string; code: string; source: string; count: number }>();
  readonly #durations = new Map<number, DurationSeries & { code: string }>();
  readonly #retries = new Map<string, { backend: string; reason: string; result: string; count: number }>();
  readonly #backends = new Map<string, BackendSeries>();
  readonly #generated = new Map<string, { code: number; reason: string; count: number }>();
  /** #pools: requests routed to each pool, by status class (index as CODE_CLASSES). */
  readonly #pools = new Map<string, Float64Array>();
  bytesIn = 0;
  bytesOut = 0;
  /** connections counts client connections accepted. */
  connections = 0;
  /** #keep: the backends of the serving generation (retain()); per-backend series of others are not shown. */
  #keep: Set<string> | undefined;

  #backend(url: string): BackendSeries {
    let s = this.#backends.get(url);
    if (!s) {
      s = { backend: url, classes: [], attempts: new Float64Array(ATTEMPT_OUTCOMES.length) };
      this.#backends.set(url, s);
    }
    return s;
  }

  /** pooled counts one request routed to `pool` that ended with `code` (any source: relayed or written by yalb). */
  pooled(pool: string, code: number): void {
    const c = Math.floor(code / 100) - 1;
    if (c < 0 || c > 4) return;
    let counts = this.#pools.get(pool);
    if (!counts) {
      counts = new Float64Array(CODE_CLASSES.length);
      this.#pools.set(pool, counts);
    }
    counts[c] = (counts[c] as number) + 1;
  }

  /** retainPools keeps the per-pool series of `names` only (a reload that removes a pool drops its series). */
  retainPools(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const k of this.#pools.keys()) if (!keep.has(k)) this.#pools.delete(k);
  }

  /** retried counts one retry away from `backend`, by reason and result (granted, refused, failover). */
  retried(backend: string, reason: string, result: string): void {
    this.#addRetry(backend, reason, result, 1);
  }

  #addRetry(backend: string, reason: string, result: string, n: number): void {
    const key = `${backend} ${reason} ${result}`;
    const r = this.#retries.get(key);
    if (r) r.count += n;
    else this.#retries.set(key, { backend, reason, result, count: n });
  }

  /** attempted counts one attempt on `backend` that ended as `outcome`. */
  attempted(backend: string, outcome: AttemptOutcomeName): void {
    const s = this.#backend(backend);
    const i = OUTCOME_INDEX.get(outcome) as number;
    s.attempts[i] = (s.attempts[i] as number) + 1;
  }

  /** generatedResponse counts a response yalb wrote itself (400, 408, 431, 502, 503, 504, 499…), by its reason. */
  generatedResponse(code: number, reason: string): void {
    this.#addGenerated(code, reason, 1);
  }

  #addGenerated(code: number, reason: string, n: number): void {
    const key = `${code} ${reason}`;
    const g = this.#generated.get(key);
    if (g) g.count += n;
    else this.#generated.set(key, { code, reason, count: n });
  }

  /**
   * retain keeps the per-backend series of `urls` only: those of backends a
   * reload removed are forgotten (and no longer shown, even if a request
   * that started before the reload ends later).
   */
  retain(urls: Iterable<string>): void {
    const keep = new Set(urls);
    this.#keep = keep;
    const gone = (b: string) => b !== 'none' && !keep.has(b);
    for (const [k, r] of this.#requests) if (gone(r.backend)) this.#requests.delete(k);
    for (const [k, r] of this.#retries) if (gone(r.backend)) this.#retries.delete(k);
    for (const k of this.#backends.keys()) if (gone(k)) this.#backends.delete(k);
  }

  /** keepFrom shows only the backends another tally keeps (the primary's view over its workers' counts). */
  keepFrom(other: RequestTally): void {
    this.#keep = other.#keep;
  }

  #shown(backend: string): boolean {
    return this.#keep === undefined || backend === 'none' || this.#keep.has(backend);
  }

  /** snapshot returns the counts as plain data. */
  snapshot(): TallySnapshot {
    return {
      requests: [...this.#requests.values()].map((r) => [r.backend, r.code, r.count, r.source]),
      durations: [...this.#durations.entries()].map(([code, d]) => ({ code, ...durationData(d) })),
      retries: [...this.#retries.values()].map((r) => [r.backend, r.reason, r.result, r.count]),
      backends: [...this.#backends.values()].map((b) => ({
        backend: b.backend, classes: b.classes.map((c) => (c ? durationData(c) : null)), attempts: [...b.attempts],
      })),
      generated: [...this.#generated.values()].map((g) => [g.code, g.reason, g.count]),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      connections: this.connections,
      pools: [...this.#pools].map(([pool, counts]) => [pool, [...counts]]),
    };
  }

  /** add adds another tally's snapshot into this one (the primary's sum over its workers). */
  add(s: TallySnapshot): void {
    for (const [backend, code, count, source] of s.requests) this.#addRequest(backend, code, source ?? (backend === 'none' ? 'yalb' : 'backend'), count);
    for (const x of s.durations) {
      let d = this.#durations.get(x.code);
      if (!d) {
        d = { code: String(x.code), ...newDuration() };
        this.#durations.set(x.code, d);
      }
      addDuration(d, x);
    }
    for (const [backend, reason, result, count] of s.retries) this.#addRetry(backend, reason, result, count);
    for (const b of s.backends ?? []) {
      const mine = this.#backend(b.backend);
      b.classes.forEach((c, i) => {
        if (c) addDuration((mine.classes[i] ??= newDuration()), c);
      });
      b.attempts.forEach((n, i) => { mine.attempts[i] = (mine.attempts[i] as number) + n; });
    }
    for (const [code, reason, count] of s.generated ?? []) this.#addGenerated(code, reason, count);
    this.bytesIn += s.bytesIn ?? 0;
    this.bytesOut += s.bytesOut ?? 0;
    this.connections += s.connections ?? 0;
    for (const [pool, counts] of s.pools ?? []) {
      let mine = this.#pools.get(pool);
      if (!mine) {
        mine = new Float64Array(CODE_CLASSES.length);
        this.#pools.set(pool, mine);
      }
      counts.forEach((n, i) => { mine[i] = (mine[i] as number) + n; });
    }
  }

  #addRequest(backend: string, code: string, source: string, n: number): void {
    const key = `${backend} ${code} ${source}`;
    const r = this.#requests.get(key);
    if (r) r.count += n;
    else this.#requests.set(key, { backend, code, source, count: n });
  }

  /**
   * observe records one finished request (backend "none" when no backend
   * was tried); `relayed`: the status is the backend's answer, not one yalb
   * wrote (a failure), which also goes to the backend's own series.
   */
  observe(backend: string | undefined, code: number, seconds: number, relayed = backend !== undefined): void {
    const b = backend ?? 'none';
    const key = `${b} ${code} ${relayed ? 'backend' : 'yalb'}`;
    const r = this.#requests.get(key);
    if (r) r.count++;
    else this.#requests.set(key, { backend: b, code: String(code), source: relayed ? 'backend' : 'yalb', count: 1 });
    let d = this.#durations.get(code);
    if (!d) {
      d = { code: String(code), ...newDuration() };
      this.#durations.set(code, d);
    }
    observeDuration(d, seconds);
    if (!relayed || backend === undefined) return;
    const c = Math.floor(code / 100) - 1;
    if (c < 0 || c > 4) return;
    const s = this.#backend(backend);
    observeDuration((s.classes[c] ??= newDuration()), seconds);
  }

  /** requestsMetric is yalb_requests_total as prom-client's registry reads it. */
  requestsMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const r of this.#requests.values()) {
      if (this.#shown(r.backend)) values.push({ value: r.count, labels: { backend: r.backend, code: r.code, source: r.source } });
    }
    return { name: 'yalb_requests_total', help: 'Requests answered, by the backend last tried ("none" when none was), status code and source: "backend" (the backend\'s answer relayed) or "yalb" (an answer yalb wrote: 502, 503, 504, 400, 408, 499…).', type: 'counter', aggregator: 'sum', values };
  }

  /** poolRequestsMetric is yalb_pool_requests_total{pool,code_class}: requests routed to each pool (routes). */
  poolRequestsMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const [pool, counts] of this.#pools) {
      counts.forEach((n, i) => {
        if (n > 0) values.push({ value: n, labels: { pool, code_class: CODE_CLASSES[i] as string } });
      });
    }
    return { name: 'yalb_pool_requests_total', help: 'Requests routed to the pool, by status class of the answer (relayed from a backend or written by yalb).', type: 'counter', aggregator: 'sum', values };
  }

  /** retriesMetric is yalb_retries_total as prom-client's registry reads it. */
  retriesMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const r of this.#retries.values()) {
      if (this.#shown(r.backend)) values.push({ value: r.count, labels: { backend: r.backend, reason: r.reason, result: r.result } });
    }
    return { name: 'yalb_retries_total', help: 'Retries away from a failed attempt on `backend`, by reason and result: granted or refused by the retry budget, or failover (a request that never reached a backend, or left one now down: no budget needed).', type: 'counter', aggregator: 'sum', values };
  }

  /** durationMetric is yalb_request_duration_seconds (cumulative buckets, +Inf, sum, count). */
  durationMetric(): MetricData {
    const name = 'yalb_request_duration_seconds';
    const values: MetricValue[] = [];
    for (const d of this.#durations.values()) histogramValues(name, d, { code: d.code }, values);
    return { name, help: 'Time from request to response end.', type: 'histogram', aggregator: 'sum', values };
  }

  /** backendDurationMetric is yalb_backend_request_duration_seconds{backend,code_class}. */
  backendDurationMetric(): MetricData {
    const name = 'yalb_backend_request_duration_seconds';
    const values: MetricValue[] = [];
    for (const s of this.#backends.values()) {
      if (!this.#shown(s.backend)) continue;
      s.classes.forEach((d, i) => {
        if (d) histogramValues(name, d, { ...backendLabels(s.backend), code_class: CODE_CLASSES[i] as string }, values);
      });
    }
    return { name, help: 'Time from request to response end, for requests the backend answered, by status class.', type: 'histogram', aggregator: 'sum', values };
  }

  /** backendRequestsMetric is yalb_backend_requests_total{backend,code_class} (the histogram's counts, as a counter). */
  backendRequestsMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const s of this.#backends.values()) {
      if (!this.#shown(s.backend)) continue;
      s.classes.forEach((d, i) => {
        if (d) values.push({ value: d.count, labels: { ...backendLabels(s.backend), code_class: CODE_CLASSES[i] as string } });
      });
    }
    return { name: 'yalb_backend_requests_total', help: 'Requests the backend answered, by status class (2xx, 3xx, 4xx, 5xx); answers yalb wrote itself are in yalb_generated_responses_total.', type: 'counter', aggregator: 'sum', values };
  }

  /** attemptsMetric is yalb_backend_attempts_total{backend,outcome}. */
  attemptsMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const s of this.#backends.values()) {
      if (!this.#shown(s.backend)) continue;
      s.attempts.forEach((n, i) => {
        if (n > 0) values.push({ value: n, labels: { ...backendLabels(s.backend), outcome: ATTEMPT_OUTCOMES[i] as string } });
      });
    }
    return { name: 'yalb_backend_attempts_total', help: 'Attempts sent to the backend, by outcome: ok, 5xx, cut (answer broken off), connect-failed, reset (broken after sending), timeout, idle-timeout, client-abort.', type: 'counter', aggregator: 'sum', values };
  }

  /** generatedMetric is yalb_generated_responses_total{code,reason}. */
  generatedMetric(): MetricData {
    const values: MetricValue[] = [];
    for (const g of this.#generated.values()) values.push({ value: g.count, labels: { code: String(g.code), reason: g.reason } });
    return { name: 'yalb_generated_responses_total', help: 'Responses yalb wrote itself instead of relaying a backend\'s, by status and reason (no-backend, connect, timeout, bad-request, client-abort = 499 logged only, …).', type: 'counter', aggregator: 'sum', values };
  }

  /** bytesMetric is yalb_request_body_bytes_total or yalb_response_body_bytes_total. */
  bytesMetric(dir: 'in' | 'out'): MetricData {
    return dir === 'in'
      ? { name: 'yalb_request_body_bytes_total', help: 'Request body bytes received from clients.', type: 'counter', aggregator: 'sum', values: [{ value: this.bytesIn, labels: {} }] }
      : { name: 'yalb_response_body_bytes_total', help: 'Response body bytes sent to clients.', type: 'counter', aggregator: 'sum', values: [{ value: this.bytesOut, labels: {} }] };
  }

  /** connectionsMetric is yalb_client_connections_total. */
  connectionsMetric(): MetricData {
    return { name: 'yalb_client_connections_total', help: 'Client connections accepted.', type: 'counter', aggregator: 'sum', values: [{ value: this.connections, labels: {} }] };
  }
}
