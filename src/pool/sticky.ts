/**
 * Sticky sessions by cookie, on top of any strategy (HAProxy `cookie …
 * insert`, Traefik `sticky.cookie`, nginx `sticky cookie`). The cookie holds
 * an opaque backend id — a 16-hex-char hash of the backend URL — never the
 * URL itself, so clients learn nothing about the network behind the
 * balancer. A request whose cookie names an eligible backend goes there; any
 * other request goes through the strategy, and the proxy then sets the
 * cookie for the backend picked (so a client pinned to a backend that went
 * down is re-pinned, like Traefik and HAProxy `option redispatch`).
 *
 * The id is not a secret and not signed: forging a well-formed id only picks
 * another backend of the same pool, which any client could reach anyway.
 * Malformed values are rejected before any lookup. Pure: no node:http.
 */
import type { Backend } from './backend.js';
import { cookieValue } from './cookie.js';
import { hash32 } from './strategies/hash.js';
import { isEligible, type PickContext } from './strategies/strategy.js';

/** STICKY_ID_PATTERN is the exact shape of a sticky id: 16 lowercase hex characters. */
export const STICKY_ID_PATTERN = /^[0-9a-f]{16}$/;
/**
 * SEED_HIGH / SEED_LOW are the fixed salt: they replace the FNV offset basis
 * of the two 32-bit hashes, so an id is not the plain FNV hash of the URL.
 */
const SEED_HIGH = 0x6a09e667;
const SEED_LOW = 0xbb67ae85;

/**
 * stickyId is the opaque, deterministic id of a backend in sticky cookies:
 * 16 lowercase hex characters (two salted 32-bit hashes of the URL). The
 * same URL always gives the same id, across reloads and worker processes.
 */
export function stickyId(url: string): string {
  return hash32(url, SEED_HIGH).toString(16).padStart(8, '0') + hash32(url, SEED_LOW).toString(16).padStart(8, '0');
}

/**
 * parseStickyCookie finds cookie `name` in a Cookie request header and
 * returns its value only when it is a well-formed sticky id (exactly 16
 * lowercase hex characters). Anything else — absent, empty, quoted, too long,
 * non-hex, a URL — gives undefined, so the request falls back to the
 * strategy. When several cookies carry the name, the first valid one wins.
 */
export function parseStickyCookie(headerValue: string | undefined, name: string): string | undefined {
  return cookieValue(headerValue, name, (v) => STICKY_ID_PATTERN.test(v));
}

/**
 * stickyIndex maps every backend's sticky id to the backend, for pools large
 * enough that hashing each URL per request (findSticky on an array) matters.
 * Build it once per pool generation.
 */
export function stickyIndex(backends: readonly Backend[]): ReadonlyMap<string, Backend> {
  return new Map(backends.map((b) => [stickyId(b.url), b]));
}

/**
 * findSticky returns the backend whose sticky id is `id` if that backend is
 * eligible for this request (not down, draining or already tried), else
 * undefined. O(n) string hashes over an array, O(1) over a stickyIndex map.
 */
export function findSticky(
  backends: readonly Backend[] | ReadonlyMap<string, Backend>, id: string, ctx: PickContext,
): Backend | undefined {
  let found: Backend | undefined;
  if (backends instanceof Map) {
    found = (backends as ReadonlyMap<string, Backend>).get(id);
  } else if (STICKY_ID_PATTERN.test(id)) {
    // Compare hashes as numbers: no hex string per backend, and the second
    // hash only runs when the first one matches.
    const high = Number.parseInt(id.slice(0, 8), 16);
    const low = Number.parseInt(id.slice(8), 16);
    for (const b of backends as readonly Backend[]) {
      if (hash32(b.url, SEED_HIGH) === high && hash32(b.url, SEED_LOW) === low) {
        found = b;
        break;
      }
    }
  }
  return found !== undefined && isEligible(found, ctx) ? found : undefined;
}

/**
 * stickyCookie is the Set-Cookie header value that pins a client to the
 * backend with sticky id `id`: a session cookie for the whole site,
 * HttpOnly, SameSite=Lax, and Secure when the client came over HTTPS.
 */
export function stickyCookie(name: string, id: string, secure: boolean): string {
  return `${name}=${id}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
