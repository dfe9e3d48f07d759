/**
 * The request queue (HAProxy's backend queue, Envoy's pending requests):
 * when every eligible backend is at its maxConnections, a request waits here
 * for a slot instead of failing, up to `queue.size` waiting and
 * `queue.timeout` each. A slot frees when an attempt ends anywhere in this
 * process: the longest-waiting request is woken and picks again. Beyond the
 * size or the timeout the request gets 503 with Retry-After.
 */

/** QueueResult is how a wait ended: a slot may be free, the queue was full, the time ran out, or the client left. */
export type QueueResult = 'ready' | 'full' | 'timeout' | 'gone';

interface Waiter {
  wake: (r: QueueResult) => void;
}

/** RequestQueue holds the requests waiting for a backend slot, oldest first. */
export class RequestQueue {
  #waiters: Waiter[] = [];
  /** full / timedOut count requests turned away (for /status and /metrics). */
  full = 0;
  timedOut = 0;

  /** length is how many requests wait now. */
  get length(): number {
    return this.#waiters.length;
  }

  /**
   * wait parks a request until a slot may be free (`ready`: pick again), or
   * `full` at once when `size` requests already wait, or `timeout` after
   * `ms`, or `gone` when `signal` fires (the client left). `front` puts a
   * request that was woken but found no room back at the head.
   */
  wait(size: number, ms: number, onGone: (cancel: () => void) => void, front = false): Promise<QueueResult> {
    if (!front && this.#waiters.length >= size) {
      this.full++;
      return Promise.resolve('full');
    }
    return new Promise<QueueResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        wake: (r) => {
          if (timer) clearTimeout(timer);
          const i = this.#waiters.indexOf(w);
          if (i !== -1) this.#waiters.splice(i, 1);
          resolve(r);
        },
      };
      timer = setTimeout(() => {
        this.timedOut++;
        w.wake('timeout');
      }, Math.max(0, ms));
      if (front) this.#waiters.unshift(w);
      else this.#waiters.push(w);
      onGone(() => w.wake('gone'));
    });
  }

  /** release wakes the longest-waiting request: an attempt ended, a slot may be free. */
  release(): void {
    this.#waiters[0]?.wake('ready');
  }
}
