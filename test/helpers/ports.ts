/**
 * deadPort returns a port on 127.0.0.1 that refuses connections and is free
 * to bind (Caddy's deadUpstreamAddr). It is taken from just below the
 * kernel's ephemeral range, so a listen(0) of a test running in parallel
 * cannot be handed the same number (see refusing-port.ts).
 */
import { refusingPort } from './refusing-port.js';

/** deadPort resolves with a port that refuses connections now and that no listen(0) will take. */
export function deadPort(): Promise<number> {
  return refusingPort();
}
