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

/** SCAN_MAX: lists up to this long are scanned; longer ones are indexed by first segment (PrefixIndex). */
const SCAN_MAX = 16;

/** segmentKey is a prefix's or a target's first segment with both slashes ("/api/" of "/api/v2"), or undefined. */
function segmentKey(s: string): string | undefined {
  const second = s.indexOf('/', 1);
  return second === -1 ? undefined : s.slice(0, second + 1);
}

/**
 * PrefixIndex finds the first rule of a long list whose prefix starts a
 * target, without scanning every prefix: a prefix with a whole first
 * segment ("/api/…") can only match a target with that first segment, so
 * each first segment gets the list of its rules and of the rules without a
 * whole first segment ("/api", "/", none), in file order. A lookup is one
 * indexOf, one slice, one Map lookup, then a scan of that short list.
 * Measured (examples/bench/routes.ts, 1,000 path prefixes, same busy machine):
 * a request falling through every prefix 25,514 → 425 ns, spread requests 12,640 → 501 ns.
 */
class PrefixIndex<T> {
  readonly #bySegment = new Map<string, List<T>>();
  readonly #rest: List<T>;

  constructor(list: List<T>) {
    // One pass in order: a rule without a whole first segment goes to every
    // list; a new segment's list starts with those seen so far.
    const rest: RouteHit<T>[] = [];
    const by = new Map<string, RouteHit<T>[]>();
    for (const h of list) {
      const k = h.prefix === undefined ? undefined : segmentKey(h.prefix);
      if (k === undefined) {
        rest.push(h);
        for (const l of by.values()) l.push(h);
      } else {
        let l = by.get(k);
        if (!l) by.set(k, (l = [...rest]));
        l.push(h);
      }
    }
    this.#rest = rest;
    for (const [k, l] of by) this.#bySegment.set(k, l);
  }

  find(url: string): RouteHit<T> | undefined {
    const second = url.indexOf('/', 1);
    const l = (second === -1 ? undefined : this.#bySegment.get(url.slice(0, second + 1))) ?? this.#rest;
    return scan(l, url);
  }
}

/** Finder is a list of rules, scanned or indexed. */
type Finder<T> = List<T> | PrefixIndex<T>;

function scan<T>(l: List<T>, url: string): RouteHit<T> | undefined {
  for (let i = 0; i < l.length; i++) {
    const h = l[i] as RouteHit<T>;
    if (h.prefix === undefined || url.startsWith(h.prefix)) return h;
  }
  return undefined;
}

function finder<T>(l: List<T>): Finder<T> {
  return l.length <= SCAN_MAX ? l : new PrefixIndex(l);
}

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

/** RouteMatcher is the compiled routes of one generation. */
export class RouteMatcher<T> {
  readonly #exact = new Map<string, Finder<T>>();
  readonly #wild = new Map<string, Finder<T>>();
  readonly #any: Finder<T>;
  /** #byHost: some rule names a host (else the Host header is never read). */
  readonly #byHost: boolean;
  /** size is the number of rules. */
  readonly size: number;

  /**
   * Compiling is one pass over the rules in order, appending each rule to
   * every list it belongs to (O(rules × lists a rule reaches)); a list stops
   * taking rules after its catch-all (what follows it is unreachable there).
   * Measured, 1,000 exact hosts: 131 → 8 ms against a filter of every rule per host.
   */
  constructor(rules: readonly RouteRule<T>[]) {
    this.size = rules.length;
    const wildcards = new Set(rules.flatMap((r) => (r.host?.startsWith('*.') ? [r.host] : [])));
    const any: RouteHit<T>[] = [];
    const wild = new Map<string, RouteHit<T>[]>();
    const exact = new Map<string, RouteHit<T>[]>();
    /** under: for each wildcard, the exact-host lists it covers. */
    const under = new Map<string, RouteHit<T>[][]>();
    const add = (l: RouteHit<T>[], h: RouteHit<T>) => {
      const last = l[l.length - 1];
      if (last === undefined || last.prefix !== undefined) l.push(h);
    };
    rules.forEach((r, index) => {
      const h: RouteHit<T> = { target: r.target, prefix: r.pathPrefix, strip: r.stripPrefix && r.pathPrefix !== undefined ? r.pathPrefix : undefined, index };
      const host = r.host;
      if (host === undefined) {
        add(any, h);
        for (const l of wild.values()) add(l, h);
        for (const l of exact.values()) add(l, h);
      } else if (host.startsWith('*.')) {
        let l = wild.get(host);
        if (!l) wild.set(host, (l = [...any]));
        add(l, h);
        for (const e of under.get(host) ?? []) add(e, h);
      } else {
        let l = exact.get(host);
        if (!l) {
          const dot = host.indexOf('.');
          const cover = dot > 0 && wildcards.has(`*${host.slice(dot)}`) ? `*${host.slice(dot)}` : undefined;
          // Earlier rules that reach this host: those for any host, and its wildcard's.
          l = [...((cover && wild.get(cover)) || any)];
          exact.set(host, l);
          if (cover) {
            const u = under.get(cover) ?? [];
            u.push(l);
            under.set(cover, u);
          }
        }
        add(l, h);
      }
    });
    this.#any = finder(any);
    for (const [w, l] of wild) this.#wild.set(w.slice(1), finder(l));
    for (const [e, l] of exact) this.#exact.set(e, finder(l));
    this.#byHost = this.#exact.size > 0 || this.#wild.size > 0;
  }

  /** match returns the first rule that matches a request's Host header and target, or undefined (404). */
  match(hostHeader: string | undefined, url: string): RouteHit<T> | undefined {
    let l: Finder<T> | undefined;
    if (this.#byHost) {
      const host = hostOf(hostHeader);
      l = this.#exact.get(host);
      if (l === undefined) {
        const dot = host.indexOf('.');
        if (dot > 0) l = this.#wild.get(host.slice(dot));
      }
    }
    l ??= this.#any;
    return Array.isArray(l) ? scan(l as List<T>, url) : (l as PrefixIndex<T>).find(url);
  }
}
