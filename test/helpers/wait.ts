/**
 * waitFor polls a condition until it holds or a deadline passes; it never
 * sleeps blindly. On timeout it throws with the last value it saw.
 */

/** WaitOptions bound a wait. */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

/** waitFor resolves with the first truthy value of `fn`, or throws after timeoutMs (default 5 s). */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${(lastErr as Error).message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'} (${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
