/**
 * The dashboard's pure parts (issue 16): latency quantiles from histogram
 * buckets, the per-second series and the minute's totals from cumulative
 * samples, and the split of a reload error into file:line:col.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { issueOf, ReloadHistory } from '../../src/admin/history.js';
import { DURATION_BUCKETS } from '../../src/admin/request-tally.js';
import { quantileMs, Sampler, sampleOf } from '../../src/admin/series.js';

const N = DURATION_BUCKETS.length + 1;

test('quantileMs: linear inside the bucket, null when empty, the last bound past it', () => {
  const b = new Array<number>(N).fill(0);
  assert.equal(quantileMs(b, 0.5), null);
  b[0] = 100; // 100 requests ≤ 1 ms
  assert.equal(quantileMs(b, 0.5), 0.5);
  assert.equal(quantileMs(b, 0.99), 0.99);
  b[2] = 100; // 100 more in (5 ms, 10 ms]
  assert.equal(quantileMs(b, 0.5), 1);
  assert.equal(quantileMs(b, 0.75), 7.5);
  const slow = new Array<number>(N).fill(0);
  slow[N - 1] = 3; // beyond 60 s
  assert.equal(quantileMs(slow, 0.5), 60_000);
});

function tally(codes: Record<number, number>, retries = 0) {
  return {
    requests: [],
    durations: Object.entries(codes).map(([code, count]) => {
      const counts = new Array<number>(DURATION_BUCKETS.length).fill(0);
      counts[1] = count; // (1 ms, 5 ms]
      return { code: Number(code), counts, sum: 0, count };
    }),
    retries: [['connect', 'granted', retries] as [string, string, number], ['connect', 'refused', 99] as [string, string, number]],
  };
}

test('Sampler: per-second points from neighbouring samples; the minute from the first and last; never negative', () => {
  const s = new Sampler(() => { throw new Error('not used'); }, { points: 3 });
  assert.deepEqual(s.document().t, []);
  const bk = (requests: number, failures: number) => [{ url: 'http://a', requests, failures, inFlight: 1 }];
  s.push(sampleOf(0, [tally({ 200: 0 })], bk(0, 0)));
  s.push(sampleOf(1000, [tally({ 200: 10 })], bk(10, 0)));
  s.push(sampleOf(2000, [tally({ 200: 18, 502: 2 }, 1)], bk(20, 2)));
  s.push(sampleOf(3000, [tally({ 200: 28, 502: 2 }, 1)], bk(30, 2)));
  s.push(sampleOf(4000, [tally({ 200: 5 })], bk(5, 0))); // a worker replaced: sums went back
  const d = s.document();
  assert.deepEqual(d.t, [2000, 3000, 4000], 'points: 3 (ring of 4 samples)');
  assert.deepEqual(d.totals.rps, [10, 10, 0]);
  assert.deepEqual(d.totals.errorRate, [0.2, 0, 0]);
  assert.deepEqual(d.backends['http://a']!.rps, [10, 10, 0]);
  assert.deepEqual(d.backends['http://a']!.errorRate, [0.2, 0, 0]);
  assert.equal(d.minute.seconds, 3);
  assert.equal(d.minute.requests, 0, 'first → last went back: counted as none, never negative');
  const fresh = new Sampler(() => { throw new Error('not used'); });
  fresh.push(sampleOf(0, [tally({ 200: 0 })], []));
  fresh.push(sampleOf(2000, [tally({ 200: 36, 404: 2, 503: 2 }, 3)], []));
  const m = fresh.document().minute;
  assert.equal(m.rps, 20);
  assert.deepEqual(m.codes, { '2xx': 36, '4xx': 2, '5xx': 2 });
  assert.equal(m.retries, 3, 'refused retries are not retries');
  assert.equal(m.errorRate, 0.05);
  assert.equal(m.p50Ms, 3);
});

test('issueOf splits file:line:col: message, even with colons in the message; history keeps the limit, newest first', () => {
  assert.deepEqual(issueOf('/etc/yalb/lb.yaml:7:16: retry.maxAttempts: expected integer'), {
    text: '/etc/yalb/lb.yaml:7:16: retry.maxAttempts: expected integer', file: '/etc/yalb/lb.yaml', line: 7, col: 16, message: 'retry.maxAttempts: expected integer',
  });
  assert.deepEqual(issueOf('/etc/yalb/lb.yaml: internal error: x'), { text: '/etc/yalb/lb.yaml: internal error: x', message: '/etc/yalb/lb.yaml: internal error: x' });
  const h = new ReloadHistory(2);
  for (const trigger of ['a', 'b', 'c']) h.record({ trigger, at: '', result: 'applied', durationMs: 1, changes: [], errors: [] });
  assert.deepEqual(h.list().map((e) => e.trigger), ['c', 'b']);
  const v = h.version;
  h.setGit(h.list()[0]!.id, { commit: 'abc', subject: 's', date: '', dirty: false });
  assert.equal(h.version, v + 1);
  assert.equal(h.list()[0]!.git?.commit, 'abc');
});
