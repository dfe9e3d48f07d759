/**
 * The retry budget's arithmetic (Envoy retry_budget): retries in flight may
 * be at most `ratio` of requests in flight, never fewer than the floor of 3
 * (min_retry_concurrency). Issue 4 (health and retry model).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget } from '../../src/proxy/retry-budget.js';

/** grant asks for `n` retries and returns how many were granted. */
function grant(b: RetryBudget, n: number): number {
  let granted = 0;
  for (let i = 0; i < n; i++) if (b.tryRetry()) granted++;
  return granted;
}

describe('retry budget arithmetic', () => {
  const limits: Array<{ ratio: number; inFlight: number; limit: number }> = [
    { ratio: 0.2, inFlight: 0, limit: 3 },
    { ratio: 0.2, inFlight: 1, limit: 3 },
    { ratio: 0.2, inFlight: 15, limit: 3 },
    { ratio: 0.2, inFlight: 19, limit: 3 },
    { ratio: 0.2, inFlight: 20, limit: 4 },
    { ratio: 0.2, inFlight: 24, limit: 4 },
    { ratio: 0.2, inFlight: 100, limit: 20 },
    { ratio: 0.2, inFlight: 1000, limit: 200 },
    { ratio: 0, inFlight: 1000, limit: 3 },
    { ratio: 0.5, inFlight: 10, limit: 5 },
    { ratio: 1, inFlight: 7, limit: 7 },
  ];
  for (const c of limits) {
    it(`${c.ratio * 100}% of ${c.inFlight} requests in flight → ${c.limit} retries in flight`, () => {
      const b = new RetryBudget(c.ratio);
      b.requestsInFlight = c.inFlight;
      assert.equal(b.limit, c.limit);
      assert.equal(grant(b, c.limit + 5), c.limit);
      assert.equal(b.retriesInFlight, c.limit);
      assert.equal(b.refused, 5);
    });
  }

  it('a released retry frees its slot for the next one', () => {
    const b = new RetryBudget(0.2);
    b.requestsInFlight = 50; // limit 10
    assert.equal(grant(b, 10), 10);
    assert.equal(b.tryRetry(), false);
    b.releaseRetry();
    assert.equal(b.tryRetry(), true);
    assert.equal(b.tryRetry(), false);
    assert.equal(b.refused, 2);
  });

  it('a lone request can always run its whole retry sequence (retries are sequential)', () => {
    const b = new RetryBudget(0.2);
    b.requestsInFlight = 1;
    for (let i = 0; i < 3 * 4; i++) {
      assert.equal(b.tryRetry(), true, `retry ${i + 1}`);
      b.releaseRetry();
    }
    assert.equal(b.refused, 0);
  });

  it('when requests in flight drop, the limit drops with them; retries already granted are not taken back', () => {
    const b = new RetryBudget(0.2);
    b.requestsInFlight = 200; // limit 40
    assert.equal(grant(b, 40), 40);
    b.requestsInFlight = 40; // limit 8, 40 still in flight
    assert.equal(b.tryRetry(), false);
    for (let i = 0; i < 32; i++) b.releaseRetry();
    assert.equal(b.retriesInFlight, 8);
    assert.equal(b.tryRetry(), false);
    b.releaseRetry();
    assert.equal(b.tryRetry(), true);
  });

  it('a new ratio (after a reload) applies to the next ask', () => {
    const b = new RetryBudget(0.2);
    b.requestsInFlight = 100;
    b.ratio = 0.5;
    assert.equal(grant(b, 100), 50);
  });

  it('the floor is configurable (min concurrency)', () => {
    const b = new RetryBudget(0.2, 1);
    b.requestsInFlight = 1;
    assert.equal(grant(b, 3), 1);
  });

  it('a release without a grant never drives the count negative', () => {
    const b = new RetryBudget(0.2);
    b.releaseRetry();
    assert.equal(b.retriesInFlight, 0);
    assert.equal(grant(b, 4), 3);
  });
});
