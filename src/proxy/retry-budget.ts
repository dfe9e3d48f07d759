/**
 * The retry budget (Envoy `retry_budget`, Linkerd's budgets): retries in
 * flight may be at most `ratio` of requests in flight, with a floor of
 * `minPerSecond` retries each second so a quiet pool can still retry. Past
 * it a failed request fails fast instead of adding load to a sick pool.
 * Pure arithmetic plus counters; the clock is passed in.
 */

/** RetryBudget counts requests and retries in flight for one daemon. */
export class RetryBudget {
  ratio: number;
  readonly minPerSecond: number;
  requestsInFlight = 0;
  retriesInFlight = 0;
  /** refused counts retries the budget turned away. */
  refused = 0;
  #windowStart = 0;
  #floorUsed = 0;

  constructor(ratio: number, minPerSecond = 3) {
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
  }

  /**
   * tryRetry asks for one retry at time `now` (ms). When granted, the caller
   * must call `releaseRetry()` once the retry attempt ends.
   */
  tryRetry(now: number): boolean {
    if (this.retriesInFlight + 1 <= this.ratio * this.requestsInFlight) {
      this.retriesInFlight++;
      return true;
    }
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#floorUsed = 0;
    }
    if (this.#floorUsed < this.minPerSecond) {
      this.#floorUsed++;
      this.retriesInFlight++;
      return true;
    }
    this.refused++;
    return false;
  }

  /** releaseRetry ends a granted retry. */
  releaseRetry(): void {
    this.retriesInFlight--;
  }
}
