/**
 * The retry budget (Envoy `retry_budget`): retries in flight may be at most
 * `ratio` of requests in flight, with a floor of `minConcurrency` retries in
 * flight (Envoy's min_retry_concurrency, default 3) so a quiet pool can
 * always retry. A request's retries are sequential, so one request holds at
 * most one slot at a time; a lone request can always run its whole retry
 * sequence. Past the budget a failed request fails fast (502) instead of
 * adding load to a sick pool.
 */

/** RetryBudget counts requests and retries in flight for one daemon. */
export class RetryBudget {
  ratio: number;
  readonly minConcurrency: number;
  requestsInFlight = 0;
  retriesInFlight = 0;
  /** refused counts retries the budget turned away. */
  refused = 0;

  constructor(ratio: number, minConcurrency = 3) {
    this.ratio = ratio;
    this.minConcurrency = minConcurrency;
  }

  /** limit is how many retries may be in flight now. */
  get limit(): number {
    return Math.max(this.minConcurrency, Math.floor(this.ratio * this.requestsInFlight));
  }

  /** tryRetry asks for one retry slot; when granted, call releaseRetry() once the retry attempt ends. */
  tryRetry(): boolean {
    if (this.retriesInFlight < this.limit) {
      this.retriesInFlight++;
      return true;
    }
    this.refused++;
    return false;
  }

  /** releaseRetry ends a granted retry. A release without a grant is ignored (the count never goes negative). */
  releaseRetry(): void {
    if (this.retriesInFlight > 0) this.retriesInFlight--;
  }
}
