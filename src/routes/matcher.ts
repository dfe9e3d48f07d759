/**
 * RouteMatcher picks the route of a request from its Host and path: the
 * routes: of lb.yaml compiled once per generation, never interpreted per
 * request. First match wins, as written; compiling keeps that order while
 * skipping what cannot match:
 * - an exact host (a Map lookup) has its own list: the routes for that host,
 *   for the wildcards that cover it and for any host, in file order;
 * - else the host minus its first label (`a.example.com` → `.example.com`)
 *   finds a wildcard's list: that wildcard's routes and those for any host;
 * - else the routes for any host.
 * Within a list, the first rule whose pathPrefix starts the path (or that has
 * none) wins: a scan of string prefixes, O(rules in the list). Measured by
 * examples/bench/routes.ts (see the README, "Several services").
 *
 * Generic over the target (a generation's pool, settings and engine), so
 * this room knows nothing of the proxy. Pure: no I/O.
 */

/** RouteRule is one entry of routes: as the matcher takes it (host lower-cased, no port). */
export interface RouteRule<T> {
  /** host: exact ("api.example.com") or one-label wildcard ("*.example.com"); undefined = any host. */
  host?: string | undefined;
  /** pathPrefix: the raw request target starts with it; undefined = any path. */
  pathPrefix?: string | undefined;
  stripPrefix?: boolean | undefined;
  target: T;
}

/** RouteHit is a matched rule: its target, and the prefix to strip (undefined = forward the path as is). */
export interface RouteHit<T> {
  readonly target: T;
  readonly prefix: string | undefined;
  readonly strip: string | undefined;
  /** index: the rule's place in routes: (for /status and logs). */
  readonly index: number;
}

type List<T> = readonly RouteHit<T>[];

/** hostOf gives the host a Host header names, lower-cased, without port or trailing dot ('' when absent). */
export function hostOf(raw: string | undefined): string {
  if (raw === undefined) return '';
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    end = close === -1 ? end : close + 1;
  } else {
    const colon = raw.indexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46 /* . */) end--;
  const h = end === raw.length ? raw : raw.slice(0, end);
  return h.toLowerCase();
}

/**
 * stripPath removes `prefix` from the start of `url` and keeps one leading
 * slash: /api/users with /api/ → /users, /api with /api → /, /api?x with /api → /?x.
 */
export function stripPath(url: string, prefix: string): string {
  const rest = url.slice(prefix.length);
  return rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}`;
}

function wildcardCovers(wildcard: string, host: string): boolean {
  // "*.example.com" covers exactly one label more: a.example.com, not example.com nor a.b.example.com.
  const suffix = wildcard.slice(1);
  return host.endsWith(suffix) && host.length > suffix.length && host.indexOf('.') === host.length - suffix.length;
}

/** RouteMatcher is the compiled routes of one generation. */
export class RouteMatcher<T> {
  readonly #exact = new Map<string, List<T>>();
  readonly #wild = new Map<string, List<T>>();
  readonly #any: List<T>;
  /** size is the number of rules. */
  readonly size: number;

  constructor(rules: readonly RouteRule<T>[]) {
    this.size = rules.length;
    const hits = rules.map((r, index): RouteHit<T> & { host: string | undefined } => ({
      target: r.target, prefix: r.pathPrefix, strip: r.stripPrefix && r.pathPrefix !== undefined ? r.pathPrefix : undefined, index, host: r.host,
    }));
    const plain = (h: RouteHit<T>): RouteHit<T> => ({ target: h.target, prefix: h.prefix, strip: h.strip, index: h.index });
    const list = (keep: (host: string | undefined) => boolean): List<T> => hits.filter((h) => keep(h.host)).map(plain);
    // A rule after a catch-all of its list is never reached: leave it out of that list.
    const cut = (l: List<T>): List<T> => {
      const i = l.findIndex((h) => h.prefix === undefined);
      return i === -1 ? l : l.slice(0, i + 1);
    };
    this.#any = cut(list((h) => h === undefined));
    for (const h of hits) {
      if (h.host === undefined) continue;
      if (h.host.startsWith('*.')) {
        const w = h.host;
        if (!this.#wild.has(w.slice(1))) this.#wild.set(w.slice(1), cut(list((x) => x === undefined || x === w)));
      } else if (!this.#exact.has(h.host)) {
        const e = h.host;
        this.#exact.set(e, cut(list((x) => x === undefined || x === e || (x.startsWith('*.') && wildcardCovers(x, e)))));
      }
    }
  }

  /** match returns the first rule that matches a request's Host header and target, or undefined (404). */
  match(hostHeader: string | undefined, url: string): RouteHit<T> | undefined {
    const host = hostOf(hostHeader);
    let l = this.#exact.get(host);
    if (l === undefined) {
      const dot = host.indexOf('.');
      if (dot > 0) l = this.#wild.get(host.slice(dot));
      l ??= this.#any;
    }
    for (let i = 0; i < l.length; i++) {
      const h = l[i] as RouteHit<T>;
      if (h.prefix === undefined || url.startsWith(h.prefix)) return h;
    }
    return undefined;
  }
}
