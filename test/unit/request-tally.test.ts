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
