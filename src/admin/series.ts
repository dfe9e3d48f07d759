/**
 * Per-minute series for the dashboard, computed on the admin side from
 * counters yalb keeps anyway: once a second a Sampler reads the cumulative
 * counts (requests by status code and latency bucket, retries, each
 * backend's requests, failures and in-flight) into a ring buffer of 61
 * samples, and GET /api/series turns neighbouring samples into 60
 * per-second points. Nothing is added to the request path: the request
 * tally (request-tally.ts) and the pool's counters are only read here.
 *
 * Latency quantiles come from the tally's histogram buckets (the
 * yalb_request_duration_seconds bounds), interpolated linearly inside a
 * bucket as Prometheus' histogram_quantile does, so they are estimates with
 * the buckets' resolution.
 */
import { DURATION_BUCKETS, type TallySnapshot } from './request-tally.js';
import type { BackendDoc } from './status.js';

/** BackendCounters are one backend's cumulative counters at one sample. */
export interface BackendCounters {
  requests: number;
  failures: number;
  inFlight: number;
}

/** SeriesSample is every cumulative counter the series need, read at one time. */
export interface SeriesSample {
  /** t: epoch ms of the sample. */
  t: number;
  requests: number;
  /** codes: requests by status code. */
  codes: Record<string, number>;
  retries: number;
  /** buckets: requests per latency bucket (DURATION_BUCKETS, then one past the last bound); not cumulative. */
  buckets: number[];
  backends: Map<string, BackendCounters>;
}

/** sampleOf sums tallies (one per process) and takes the backends' counters (every pool, a URL once). */
export function sampleOf(t: number, tallies: readonly TallySnapshot[], backends: Iterable<Pick<BackendDoc, 'url' | 'requests' | 'failures' | 'inFlight'>>): SeriesSample {
  const codes: Record<string, number> = {};
  const buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  let requests = 0;
  let retries = 0;
  for (const tally of tallies) {
    for (const d of tally.durations) {
      codes[d.code] = (codes[d.code] ?? 0) + d.count;
      requests += d.count;
      let inBuckets = 0;
      d.counts.forEach((n, i) => {
        buckets[i] = (buckets[i] as number) + n;
        inBuckets += n;
      });
      buckets[DURATION_BUCKETS.length] = (buckets[DURATION_BUCKETS.length] as number) + Math.max(0, d.count - inBuckets);
    }
    for (const [, result, count] of tally.retries) if (result !== 'refused') retries += count;
  }
  const map = new Map<string, BackendCounters>();
  for (const b of backends) if (!map.has(b.url)) map.set(b.url, { requests: b.requests, failures: b.failures, inFlight: b.inFlight });
  return { t, requests, codes, retries, buckets, backends: map };
}

/**
 * quantileMs estimates the q-quantile (0..1) of a latency histogram
 * (per-bucket counts, as SeriesSample.buckets) in milliseconds; null when it
 * holds no request. Past the last bound it answers the last bound.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let acc = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] as number;
    if (acc + n >= rank && n > 0) {
      if (i >= DURATION_BUCKETS.length) return (DURATION_BUCKETS[DURATION_BUCKETS.length - 1] as number) * 1000;
      const lo = i === 0 ? 0 : (DURATION_BUCKETS[i - 1] as number);
      const hi = DURATION_BUCKETS[i] as number;
      return Math.round((lo + (hi - lo) * ((rank - acc) / n)) * 1000 * 100) / 100;
    }
    acc += n;
  }
  return (DURATION_BUCKETS[DURATION_BUCKETS.length - 1] as number) * 1000;
}

/** SeriesDocument is the JSON body of GET /api/series. */
export interface SeriesDocument {
  intervalMs: number;
  /** t: epoch ms at the end of each point, oldest first (at most 60 points). */
  t: number[];
  totals: { rps: number[]; errorRate: number[]; p50Ms: Array<number | null>; p99Ms: Array<number | null> };
  /** minute: the whole span of the points at once. */
  minute: {
    seconds: number;
    requests: number;
    rps: number;
    /** codes: requests by status class (2xx, 3xx, 4xx, 5xx) over the span. */
    codes: Record<string, number>;
    retries: number;
    errorRate: number;
    p50Ms: number | null;
    p99Ms: number | null;
  };
  /** backends: per backend URL, requests per second, the share of failed attempts, and in flight at each point. */
  backends: Record<string, { rps: number[]; errorRate: number[]; inFlight: number[] }>;
}

const pos = (n: number) => (n > 0 ? n : 0); // a replaced worker can make a sum go back: never a negative rate
const round = (n: number, d = 1000) => Math.round(n * d) / d;

function classOf(code: string): string {
  return /^[1-5]\d\d$/.test(code) ? `${code[0]}xx` : 'other';
}

function delta(a: SeriesSample, b: SeriesSample) {
  const secs = Math.max(0.001, (b.t - a.t) / 1000);
  const requests = pos(b.requests - a.requests);
  let errors = 0;
  const codes: Record<string, number> = {};
  for (const [code, n] of Object.entries(b.codes)) {
    const d = pos(n - (a.codes[code] ?? 0));
    if (d === 0) continue;
    const c = classOf(code);
    codes[c] = (codes[c] ?? 0) + d;
    if (c === '5xx') errors += d;
  }
  const buckets = b.buckets.map((n, i) => pos(n - (a.buckets[i] ?? 0)));
  return { secs, requests, errors, codes, buckets, retries: pos(b.retries - a.retries) };
}

/** Sampler samples the counters once per interval into a ring buffer of `size + 1` samples (one minute by default). */
export class Sampler {
  readonly #read: () => SeriesSample | Promise<SeriesSample>;
  readonly #intervalMs: number;
  readonly #ring: SeriesSample[] = [];
  readonly #size: number;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(read: () => SeriesSample | Promise<SeriesSample>, o: { intervalMs?: number; points?: number } = {}) {
    this.#read = read;
    this.#intervalMs = o.intervalMs ?? 1000;
    this.#size = (o.points ?? 60) + 1;
  }

  /** start takes a first sample now, then one per interval (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer) return;
    void this.tick();
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** tick takes one sample (a slow read, e.g. workers that answer late, skips the next tick rather than piling up). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.push(await this.#read());
    } catch {
      // a sample that cannot be read is a gap in the series, never an error
    } finally {
      this.#busy = false;
    }
  }

  /** push adds one sample (tests drive the ring with it). */
  push(s: SeriesSample): void {
    this.#ring.push(s);
    if (this.#ring.length > this.#size) this.#ring.shift();
  }

  /** document turns the ring into per-second points and the minute's totals. */
  document(): SeriesDocument {
    const ring = this.#ring;
    const doc: SeriesDocument = {
      intervalMs: this.#intervalMs,
      t: [],
      totals: { rps: [], errorRate: [], p50Ms: [], p99Ms: [] },
      minute: { seconds: 0, requests: 0, rps: 0, codes: {}, retries: 0, errorRate: 0, p50Ms: null, p99Ms: null },
      backends: {},
    };
    const last = ring[ring.length - 1];
    const first = ring[0];
    if (!last || !first) return doc;
    for (const url of last.backends.keys()) doc.backends[url] = { rps: [], errorRate: [], inFlight: [] };
    for (let i = 1; i < ring.length; i++) {
      const a = ring[i - 1] as SeriesSample;
      const b = ring[i] as SeriesSample;
      const d = delta(a, b);
      doc.t.push(b.t);
      doc.totals.rps.push(round(d.requests / d.secs, 10));
      doc.totals.errorRate.push(d.requests ? round(d.errors / d.requests) : 0);
      doc.totals.p50Ms.push(quantileMs(d.buckets, 0.5));
      doc.totals.p99Ms.push(quantileMs(d.buckets, 0.99));
      for (const [url, s] of Object.entries(doc.backends)) {
        const nb = b.backends.get(url);
        const na = a.backends.get(url);
        const req = nb && na ? pos(nb.requests - na.requests) : 0;
        const fail = nb && na ? pos(nb.failures - na.failures) : 0;
        s.rps.push(round(req / d.secs, 10));
        s.errorRate.push(req + fail ? round(Math.min(1, fail / Math.max(req, fail))) : 0);
        s.inFlight.push(nb?.inFlight ?? 0);
      }
    }
    if (ring.length > 1) {
      const d = delta(first, last);
      doc.minute = {
        seconds: round(d.secs, 10),
        requests: d.requests,
        rps: round(d.requests / d.secs, 10),
        codes: d.codes,
        retries: d.retries,
        errorRate: d.requests ? round(d.errors / d.requests) : 0,
        p50Ms: quantileMs(d.buckets, 0.5),
        p99Ms: quantileMs(d.buckets, 0.99),
      };
    }
    return doc;
  }
}
