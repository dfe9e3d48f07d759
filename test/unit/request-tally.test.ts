/**
 * RequestTally must expose exactly what prom-client's own Counter and
 * Histogram would for the same requests (same names, labels, cumulative
 * buckets, sum and count), so replacing them on the request path changes
 * no scrape.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { Metrics } from '../../src/admin/metrics.js';
import { DURATION_BUCKETS, RequestTally } from '../../src/admin/request-tally.js';

const lines = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix)).sort();

test('request metrics: the same exposition as prom-client Counter + Histogram', async () => {
  const ref = new Registry();
  const counter = new Counter({ name: 'yalb_requests_total', help: new RequestTally().requestsMetric().help, labelNames: ['backend', 'code', 'source'], registers: [ref] });
  const hist = new Histogram({ name: 'yalb_request_duration_seconds', help: 'Time from request to response end.', labelNames: ['code'], buckets: [...DURATION_BUCKETS], registers: [ref] });
  const metrics = new Metrics({ backends: () => [] }, { processMetrics: false });
  const samples: Array<[string | undefined, number, number]> = [
    ['http://a:1', 200, 0.0004], ['http://a:1', 200, 0.003], ['http://b:2', 502, 0.2], [undefined, 503, 0.00001],
    ['http://a:1', 200, 61], ['http://b:2', 200, 0.001], ['http://b:2', 200, 0.0049],
  ];
  for (const [backend, code, s] of samples) {
    counter.inc({ backend: backend ?? 'none', code: String(code), source: backend ? 'backend' : 'yalb' });
    hist.observe({ code: String(code) }, s);
    metrics.observeRequest(backend, code, s);
  }
  const want = await ref.metrics();
  const got = await metrics.text();
  for (const prefix of ['yalb_requests_total', 'yalb_request_duration_seconds', '# HELP yalb_requests_total ', '# TYPE yalb_requests_total ', '# HELP yalb_request_duration_seconds ', '# TYPE yalb_request_duration_seconds ']) {
    assert.deepEqual(lines(got, prefix), lines(want, prefix), prefix);
  }
});

test('a primary\'s sum of worker snapshots equals one tally that saw every request; retain() drops removed backends', () => {
  const a = new RequestTally();
  const b = new RequestTally();
  const all = new RequestTally();
  const feed = (t: RequestTally, i: number) => {
    const url = i % 2 ? 'http://a:1' : 'http://b:2';
    t.attempted(url, i % 3 ? 'ok' : 'reset');
    if (i % 3 === 0) t.retried(url, 'reset', 'granted');
    t.observe(url, i % 5 ? 200 : 503, i / 1000, true);
    if (i % 7 === 0) t.generatedResponse(502, 'connect');
    t.bytesIn += i;
    t.bytesOut += 2 * i;
    t.connections++;
  };
  for (let i = 0; i < 40; i++) {
    feed(i % 2 ? a : b, i);
    feed(all, i);
  }
  const view = new RequestTally();
  view.add(a.snapshot());
  view.add(b.snapshot());
  const metrics = (t: RequestTally) => [
    t.requestsMetric(), t.retriesMetric(), t.durationMetric(), t.backendDurationMetric(), t.backendRequestsMetric(),
    t.attemptsMetric(), t.generatedMetric(), t.bytesMetric('in'), t.bytesMetric('out'), t.connectionsMetric(),
  ].map((m) => ({
    ...m,
    // Sums in another order differ in the last bits: compare at 1e-9.
    values: m.values.map((v) => ({ ...v, value: Number(v.value.toFixed(9)) })).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
  }));
  assert.deepEqual(metrics(view), metrics(all));
  all.retain(['http://a:1']);
  for (const m of metrics(all)) {
    assert.ok(m.values.every((v) => v.labels.backend !== 'http://b:2'), `${m.name} forgot the removed backend`);
  }
  assert.ok(all.attemptsMetric().values.some((v) => v.labels.backend === 'http://a:1'), 'the kept backend stays');
});
