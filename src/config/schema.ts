/**
 * The zod schema of lb.yaml: the single source of truth for validation, for
 * the `LbConfig` type (never written by hand) and, through json-schema.ts,
 * for the JSON Schema editors use. Every field says its unit and default.
 */
import { z } from 'zod';
import { HTTP_ORIGIN_PATTERN, cidr, listenAddress } from './address.js';
import { withJsonSchema } from './json-hint.js';
import {
  HASH_KEY_PATTERN, duration, parseHashKey, percent, size, statusRanges, type HashKey,
} from './units.js';
import { resolvePools } from './pools.js';

/** STRATEGY_NAMES lists every value `strategy:` accepts. */
export const STRATEGY_NAMES = [
  'round-robin', 'weighted-round-robin', 'least-connections', 'random-two', 'ip-hash', 'hash',
] as const;
/** StrategyName is one of STRATEGY_NAMES. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** ENGINE_NAMES lists every value `engine:` accepts: how HTTP requests reach backends. */
export const ENGINE_NAMES = ['undici', 'http-proxy-3'] as const;
/** EngineName is one of ENGINE_NAMES. */
export type EngineName = (typeof ENGINE_NAMES)[number];

export { MAX_BUFFER_BYTES, MAX_DURATION_MS } from './units.js';

/**
 * normalizeBackendUrl gives the key a backend's state is stored under:
 * lower-case scheme and host, default port dropped, no trailing slash.
 * Returns an error message for anything that is not a plain http(s) origin.
 */
export function normalizeBackendUrl(raw: string): { url: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { error: `not a URL: "${raw}" (expected http://host:port)` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `backend URL must use http:// or https://, got "${u.protocol}"` };
  if (u.username || u.password) return { error: 'backend URL must not carry credentials' };
  if (u.search || u.hash) return { error: 'backend URL must not have a query or fragment' };
  if (u.pathname !== '/' && u.pathname !== '') return { error: `backend URL must not have a path (got "${u.pathname}")` };
  return { url: `${u.protocol}//${u.host}` };
}

const backendUrl = withJsonSchema(z.string({ error: 'backend url: expected a string like "http://127.0.0.1:3031"' })
  .transform((v, ctx) => {
    const r = normalizeBackendUrl(v);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.url;
  }), {
  type: 'string',
  pattern: HTTP_ORIGIN_PATTERN,
  errorMessage: 'Expected a backend origin: http:// or https://, a host and an optional port, no path (e.g. "http://127.0.0.1:3031")',
})
  .meta({ description: 'Backend origin, http:// or https:// with host and port; no path. Unique after normalisation (required).' });

const BackendSchema = z.strictObject({
  url: backendUrl,
  weight: z.int().min(1).max(10_000).default(1)
    .describe('Relative share of requests for the weighted strategies; integer >= 1 (default 1).'),
  drain: z.boolean().default(false)
    .describe('true = take no new requests while in-flight ones finish; still probed (default false).'),
  maxConnections: z.int().min(0).max(1_000_000).optional()
    .describe('At most this many requests in flight to this backend (per worker); a full backend is skipped by every strategy, and when all are full requests wait in the queue; 0 = no limit (default: no limit).'),
});

const QueueSchema = z.strictObject({
  size: z.int().min(0).max(1_000_000).default(0)
    .describe('Requests that may wait when every backend is full (maxConnections); beyond it 503 YALB_ERR_QUEUE_FULL; 0 = no queue (default 0).'),
  timeout: duration('queue.timeout', { min: 1 }).prefault('5s')
    .describe('How long a request may wait in the queue before 503 YALB_ERR_QUEUE_TIMEOUT (default 5s).'),
});

const RetrySchema = z.strictObject({
  sameBackend: z.int().min(0).max(10).default(3)
    .describe('Retries on one backend after a connect failure, before it is marked down and the next backend is tried (default 3).'),
  delay: duration('retry.delay').prefault('10ms')
    .describe('Wait between retries on the same backend (default 10ms).'),
  maxAttempts: z.int().min(1).max(10).default(3)
    .describe('Distinct backends tried per request before answering 502 (default 3).'),
  budget: percent('retry.budget').prefault('20%')
    .describe('At most this share of in-flight requests may be retries; never fewer than 3 retries in flight are allowed (default 20%).'),
  bufferLimit: size('retry.bufferLimit').prefault('64KiB')
    .describe('Request bodies up to this size are buffered so they can be replayed on another backend (default 64KiB).'),
});

const TimeoutsSchema = z.strictObject({
  connect: duration('timeouts.connect').prefault('5s')
    .describe('TCP connect to a backend; exceeded counts as a connect failure and is retried; 0 = off (default 5s).'),
  response: duration('timeouts.response').prefault('60s')
    .describe('Request sent to first response byte; exceeded answers 504; 0 = off (default 60s).'),
  idle: duration('timeouts.idle').prefault('60s')
    .describe('No byte either way on an open exchange; exceeded closes both sides; 0 = off (default 60s).'),
  clientIdle: duration('timeouts.clientIdle').prefault('60s')
    .describe('No byte from the client while its request body arrives; exceeded answers 408 (or closes, once a response started); 0 = off (default 60s).'),
});

const HealthCheckSchema = z.strictObject({
  interval: duration('healthCheck.interval', { min: 100 }).prefault('20s')
    .describe('Time between probes of each backend; probes start at once (default 20s).'),
  timeout: duration('healthCheck.timeout', { min: 1 }).prefault('2s')
    .describe('Time a probe may take before it counts as failed (default 2s).'),
  path: z.string().regex(/^\//, { error: 'healthCheck.path must start with "/"' }).optional()
    .describe('HTTP GET this path as the probe; absent = TCP connect probe (default: absent).'),
  expectStatus: statusRanges('healthCheck.expectStatus')
    .prefault('200-399')
    .describe('Status codes that pass an HTTP probe: "200", "200-399", "200,204" (default 200-399).'),
  rise: z.int().min(1).max(100).default(2)
    .describe('Consecutive passing probes for a down backend to come up (default 2).'),
  fall: z.int().min(1).max(100).default(3)
    .describe('Consecutive failing probes for an up backend to go down (default 3).'),
  panicBelow: percent('healthCheck.panicBelow').prefault('0%')
    .describe('When fewer than this share of backends are up, route to all of them (default 0% = off).'),
});

const PassiveSchema = z.strictObject({
  consecutiveFailures: z.int().min(0).max(1000).default(5)
    .describe('Connect failures, timeouts or 5xx answers in a row that eject a backend; 0 turns passive checks off (default 5).'),
  ejectFor: duration('passive.ejectFor').prefault('30s')
    .describe('Ejection time; multiplied by the number of ejections of the same backend, up to 10x (default 30s).'),
  maxEjectedPercent: z.number().min(0).max(100).default(50)
    .describe('Never eject more than this percentage of the pool at once (default 50).'),
});

const AccessLogSchema = z.strictObject({
  path: z.string().min(1).default('stdout').describe('"stdout" or a file path (default stdout).'),
  format: z.enum(['json', 'combined']).default('json').describe('json lines or the combined log format (default json).'),
});

const AdminSchema = z.strictObject({
  listen: listenAddress.meta({ description: 'Admin API address, host:port or a bare port; serves /status, /metrics, /healthz (required when admin is set).' }),
  allowRemote: z.boolean().default(false)
    .describe('Allow a non-loopback admin address; requires token (default false).'),
  token: z.union([
    z.string().regex(/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/),
    z.string().min(16, { error: 'admin.token must be at least 16 characters (or "${ENV_NAME}" to read it from the environment)' }),
  ], { error: 'admin.token must be at least 16 characters (or "${ENV_NAME}" to read it from the environment)' }).optional()
    .describe('Bearer token the admin API requires when allowRemote is true; at least 16 characters, or "${ENV_NAME}" to take it from the environment (a Kubernetes Secret) (default: none).'),
  tokenFile: z.string().min(1).optional()
    .describe('A file holding the bearer token (read at start and at every reload; surrounding whitespace ignored); wins over token (default: none).'),
});

const LogSchema = z.strictObject({
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('Operational log level (default info).'),
});

// ---- pools and routes (issue 15) ---------------------------------------
// Kept in one section: several named pools behind one listener, chosen per
// request by routes:. The cross-key checks live in checkPoolsAndRoutes and
// the per-pool values (pool key, else top-level key) in pools.ts.

const HashKeySchema = z.string().regex(new RegExp(HASH_KEY_PATTERN), { error: 'hashKey: expected ip, header:NAME, cookie:NAME or query:NAME' })
  .transform((v): HashKey => parseHashKey(v) as HashKey);

const StickySchema = z.strictObject({
  cookie: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'sticky.cookie: expected a cookie name (letters, digits, - _ .)' })
    .describe('Name of the cookie that pins a client to a backend (required when sticky is set; no default).'),
});

/**
 * optionalKeys is `section` with every default removed and every key
 * optional: a pool's section names only what it overrides, the rest comes
 * from the top-level section (zod's .partial() keeps the defaults, which
 * would hide the top-level value).
 */
function optionalKeys<T extends z.ZodObject>(section: T): z.ZodType<Partial<z.output<T>>, Partial<z.input<T>>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(section.shape as Record<string, z.ZodType>)) {
    let inner = field;
    const description = field.description;
    while (inner._zod.def.type === 'default' || inner._zod.def.type === 'prefault') inner = (inner._zod.def as unknown as { innerType: z.ZodType }).innerType;
    shape[key] = (description ? inner.describe(description) : inner).optional();
  }
  return z.strictObject(shape) as unknown as z.ZodType<Partial<z.output<T>>, Partial<z.input<T>>>;
}

/** POOL_NAME_PATTERN: a pool name is a letter, then letters, digits, - or _ (it shows in /status, metrics labels and cookie names). */
export const POOL_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_-]{0,62}$';

const PoolSchema = z.strictObject({
  strategy: z.enum(STRATEGY_NAMES).optional().describe('This pool\'s strategy (default: the top-level strategy).'),
  hashKey: HashKeySchema.optional().describe('strategy hash only: what this pool hashes (default: the top-level hashKey, else ip).'),
  sticky: StickySchema.optional()
    .describe('Sticky sessions for this pool (default: the top-level sticky, with the cookie name suffixed "-POOL" so two pools never share a cookie).'),
  backends: z.array(BackendSchema).min(1, { error: 'backends: at least one backend is required' })
    .describe('This pool\'s backends (required, at least one). A URL may be in several pools: it keeps one health state and one connection pool.'),
  slowStart: duration('slowStart').optional().describe('This pool\'s slow start (default: the top-level slowStart).'),
  healthCheck: optionalKeys(HealthCheckSchema).optional().describe('Keys that override the top-level healthCheck for this pool.'),
  retry: optionalKeys(RetrySchema.omit({ budget: true })).optional()
    .describe('Keys that override the top-level retry for this pool (retry.budget is the listener\'s, top level only).'),
  timeouts: optionalKeys(TimeoutsSchema).optional().describe('Keys that override the top-level timeouts for this pool.'),
  passive: optionalKeys(PassiveSchema).optional().describe('Keys that override the top-level passive checks for this pool.'),
});

const PoolsSchema = z.record(
  z.string().regex(new RegExp(POOL_NAME_PATTERN), { error: 'pool name: expected a letter, then letters, digits, - or _ (at most 63)' }),
  PoolSchema,
);

/** HOST_PATTERN: a host name (letters, digits, -, dots) or "*." and one, for routes' match.host. */
const HOST_LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_PATTERN = `^(\\*\\.)?${HOST_LABEL}(\\.${HOST_LABEL})*\\.?$`;

const RouteMatchSchema = z.strictObject({
  host: z.string()
    .transform((v, ctx) => {
      const h = v.toLowerCase();
      if (!new RegExp(HOST_PATTERN).test(h) || h.length > 254) {
        const why = /:\d+$/.test(h) ? ' (without a port: the host matches whatever port the client used)' : '';
        ctx.addIssue({ code: 'custom', message: `match.host: expected a host name like "api.example.com" or "*.example.com"${why}, got "${v}"` });
        return z.NEVER;
      }
      return h.endsWith('.') ? h.slice(0, -1) : h;
    })
    .optional()
    .describe('The request\'s host, without port, case-insensitive: exact, or "*.example.com" for exactly one more label (not example.com, not a.b.example.com; quote it in YAML) (default: any host).'),
  pathPrefix: z.string().regex(/^\/[^?#\s]*$/, { error: 'match.pathPrefix: expected a path starting with "/" (no query, no spaces)' }).optional()
    .describe('The request path starts with this string, as sent (no decoding); end it with "/" to match a whole segment (default: any path).'),
  stripPrefix: z.boolean().default(false)
    .describe('Remove pathPrefix before forwarding, keeping one leading slash: /api/users with /api/ → /users (default false).'),
});

const RouteSchema = z.strictObject({
  match: RouteMatchSchema.optional().describe('What a request must match; absent = the default route (matches every request).'),
  pool: z.string().min(1).describe('The pool that serves a matching request: a key of pools:, or "default" for the top-level backends: (required).'),
});

const RoutesSchema = z.array(RouteSchema).min(1, { error: 'routes: at least one route (or leave routes: out)' });

/**
 * checkPoolsAndRoutes reports, each at its key: no backends and no pools;
 * a pool named default beside top-level backends; a route naming an
 * unknown pool, with an empty match, or that an earlier route makes
 * unreachable; a pool no route uses; several pools without routes; a
 * backend URL in two pools with different health checks (it has one
 * health state).
 */
function checkPoolsAndRoutes(cfg: LbConfig, ctx: z.core.$RefinementCtx<LbConfig>): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const named = Object.keys(cfg.pools ?? {});
  if (cfg.backends.length === 0 && named.length === 0) {
    // `backends: []` has its own issue already; an absent key is reported like any missing key (at the root).
    if (ctx.issues.some((i) => i.path?.[0] === 'backends')) return;
    if (cfg.pools) issue(['pools'], 'at least one pool is required');
    else ctx.addIssue({ code: 'invalid_type', expected: 'array', input: undefined, path: ['backends'], message: 'missing required key "backends"' });
    return;
  }
  if (cfg.backends.length > 0 && cfg.pools && 'default' in cfg.pools) {
    issue(['pools', 'default'], 'pool "default" is the top-level backends: (give this pool another name, or move those backends here)');
  }
  const pools = resolvePools(cfg);
  const names = pools.map((p) => p.name);
  for (const p of pools) {
    if (p.path[0] !== 'pools') continue;
    const seen = new Map<string, number>();
    p.backends.forEach((b, i) => {
      const first = seen.get(b.url);
      if (first !== undefined) issue([...p.path, 'backends', i, 'url'], `duplicate backend ${b.url} (same as backends[${first}])`);
      else seen.set(b.url, i);
    });
    const own = cfg.pools?.[p.name];
    if (own?.hashKey !== undefined && p.strategy !== 'hash') issue([...p.path, 'hashKey'], `hashKey is only used with strategy: hash (this pool's strategy is ${p.strategy})`);
    if (p.healthCheck.timeout > p.healthCheck.interval) issue([...p.path, 'healthCheck', 'timeout'], 'healthCheck.timeout must not exceed healthCheck.interval');
    if (p.healthCheck.interval < 100) issue([...p.path, 'healthCheck', 'interval'], 'healthCheck.interval must be at least 100ms');
  }
  // One URL has one health state: two pools may not probe it two ways.
  const probedBy = new Map<string, { pool: string; how: string }>();
  for (const p of pools) {
    const h = p.healthCheck;
    const how = JSON.stringify([h.path, h.expectStatus, h.interval, h.timeout, h.rise, h.fall]);
    p.backends.forEach((b, i) => {
      const first = probedBy.get(b.url);
      if (!first) probedBy.set(b.url, { pool: p.name, how });
      else if (first.pool !== p.name && first.how !== how) {
        issue([...p.path, 'backends', i, 'url'], `backend ${b.url} is also in pool "${first.pool}" with other healthCheck settings; one backend has one health state: give both pools the same healthCheck`);
      }
    });
  }
  const routes = cfg.routes;
  if (!routes) {
    if (pools.length > 1) issue(['pools'], `several pools (${names.join(', ')}) need routes: to choose between them`);
    return;
  }
  const used = new Set<string>();
  routes.forEach((r, i) => {
    if (!names.includes(r.pool)) {
      issue(['routes', i, 'pool'], `unknown pool "${r.pool}" (pools: ${names.join(', ')})`);
    } else used.add(r.pool);
    if (r.match && r.match.host === undefined && r.match.pathPrefix === undefined) {
      issue(['routes', i, 'match'], 'match: needs host, pathPrefix or both (a route without match: is the default route)');
      return;
    }
    if (r.match?.stripPrefix && r.match.pathPrefix === undefined) issue(['routes', i, 'match', 'stripPrefix'], 'stripPrefix needs pathPrefix');
    for (let k = 0; k < i; k++) {
      const earlier = routes[k] as (typeof routes)[number];
      const empty = earlier.match && earlier.match.host === undefined && earlier.match.pathPrefix === undefined; // reported already
      if (empty || !covers(earlier.match, r.match)) continue;
      issue(['routes', i], earlier.match
        ? `unreachable: routes[${k}] (${describeMatch(earlier.match)}) matches every request this route matches; first match wins`
        : `unreachable: routes[${k}] has no match: (the default route) and takes every request; put the default route last`);
      break;
    }
  });
  for (const p of pools) {
    if (!used.has(p.name)) issue(p.path, `pool "${p.name}" is used by no route`);
  }
}

type RouteMatch = z.output<typeof RouteMatchSchema>;

/** covers tells whether every request `later` matches is matched by `earlier` too (so `later` is unreachable). */
function covers(earlier: RouteMatch | undefined, later: RouteMatch | undefined): boolean {
  if (!earlier) return true;
  if (!later) return false;
  const e = earlier.host;
  const l = later.host;
  const hostCovers = e === undefined || e === l
    || (l !== undefined && e.startsWith('*.') && !l.startsWith('*.') && l.indexOf('.') === l.length - e.length + 1 && l.endsWith(e.slice(1)));
  const pathCovers = earlier.pathPrefix === undefined || (later.pathPrefix !== undefined && later.pathPrefix.startsWith(earlier.pathPrefix));
  return hostCovers && pathCovers;
}

function describeMatch(m: RouteMatch): string {
  return [m.host !== undefined ? `host ${m.host}` : '', m.pathPrefix !== undefined ? `pathPrefix ${m.pathPrefix}` : ''].filter(Boolean).join(', ');
}

const pemPath = (what: string) => z.string({ error: `${what}: expected a file path` }).min(1, { error: `${what}: expected a file path` });

const CertPairSchema = z.strictObject({
  cert: pemPath('cert').describe('PEM certificate file; may hold the chain after the leaf (required).'),
  key: pemPath('key').describe('PEM private key file of that certificate; must be readable by yalb\'s user (required).'),
});

/** TLS_VERSIONS lists the values tls.minVersion accepts. */
export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

const TlsSchema = z.strictObject({
  cert: pemPath('tls.cert').optional()
    .describe('PEM certificate (chain allowed) served on listen; watched: a renewed file is served on the next handshake, no reload (default: none).'),
  key: pemPath('tls.key').optional()
    .describe('PEM private key of tls.cert; watched with it; a pair that does not match keeps the old one (default: none).'),
  certificates: z.array(CertPairSchema).optional()
    .describe('More certificate pairs, picked by SNI against each certificate\'s own names (SAN DNS, RFC 6125 wildcards); tls.cert/key, else the first pair, is the default (default: none).'),
  minVersion: z.enum(TLS_VERSIONS).default('TLSv1.2')
    .describe('Lowest TLS version a client may use (default TLSv1.2).'),
  redirectHttp: listenAddress.optional()
    .meta({ description: 'Plain HTTP port (or host:port) that answers 308 to the same host and path on HTTPS; /.well-known/acme-challenge/ is proxied to the pool instead (default: off).' }),
  http2: z.boolean().optional()
    .describe('Reserved: HTTP/2 is not supported yet; only false is accepted (default false).'),
  backend: z.strictObject({
    verify: z.boolean().default(true)
      .describe('Check https:// backends\' certificates (chain and name); false accepts any certificate (default true).'),
    ca: pemPath('tls.backend.ca').optional()
      .describe('PEM file of the CA(s) that sign https:// backends\' certificates, used instead of Node\'s default store (default: Node\'s store).'),
  }).optional().describe('How https:// backends are checked (default: verified against Node\'s CA store).'),
});

/** LbConfigSchema validates a whole lb.yaml (after YAML parsing). */
export const LbConfigSchema = z.strictObject({
  listen: listenAddress.prefault('127.0.0.1:3030')
    .meta({ description: 'Where the balancer listens: "host:port", or a bare port for all interfaces (default 127.0.0.1:3030).' }),
  strategy: z.enum(STRATEGY_NAMES).default('round-robin')
    .describe('How a backend is picked for each request (default round-robin).'),
  workers: z.union([z.literal('auto'), z.int({ error: 'workers: expected a whole number 1..256 or "auto"' }).min(1, { error: 'workers: at least 1' }).max(256, { error: 'workers: at most 256' })], { error: 'workers: expected a whole number 1..256 or "auto"' }).default(1)
    .describe('Processes that serve: 1 = one process (no cluster); N or "auto" (one per core) = a primary that owns config, reload, health and admin, and N serving workers (default 1).'),
  engine: z.enum(ENGINE_NAMES).default('undici')
    .describe('How HTTP requests reach backends: undici (faster, as measured by npm run bench) or http-proxy-3; WebSocket upgrades always use http-proxy-3 (default undici).'),
  hashKey: HashKeySchema.optional()
    .describe('strategy hash only: what to hash; ip | header:NAME | cookie:NAME | query:NAME (default ip).'),
  sticky: StickySchema.optional().describe('Sticky sessions by cookie, with any strategy (default: off).'),
  // Optional when pools: is given (routes, issue 15); checkPoolsAndRoutes reports it missing otherwise.
  backends: z.array(BackendSchema).min(1, { error: 'backends: at least one backend is required' }).default([])
    .describe('The pool named "default": each backend with url, optional weight and drain (required unless pools: is given; at least one).'),
  slowStart: duration('slowStart').prefault('0s')
    .describe('Ramp a backend that comes up to full weight over this time; 0 = off (default 0s).'),
  trustedProxies: z.array(cidr('trustedProxies'))
    .prefault([])
    .describe('Client addresses (CIDRs) whose X-Forwarded-* headers are kept; others are replaced (default none).'),
  retry: RetrySchema.prefault({}).describe('Retries and attempts on failure (each key has its default).'),
  shutdown: z.strictObject({
    delay: duration('shutdown.delay').prefault('0s')
      .describe('On SIGTERM, /healthz answers 503 at once but the listener keeps accepting for this long before the drain, so a load balancer or Kubernetes Service stops routing first; 0 = drain at once (default 0s).'),
  }).prefault({}).describe('How a stop begins (default: drain at once).'),
  limits: z.strictObject({
    maxConnections: z.int().min(0).max(10_000_000).optional()
      .describe('Client connections served at once per process (per worker); more wait, accepted but unread, until one closes; 0 = no limit (default: no limit).'),
  }).prefault({}).describe('Limits on the listener (default: none).'),
  queue: QueueSchema.prefault({})
    .describe('Where requests wait when every backend is at its maxConnections (HAProxy\'s queue, Envoy\'s pending requests); each key has its default (default: no queue).'),
  timeouts: TimeoutsSchema.prefault({}).describe('Timeouts towards backends (each key has its default).'),
  healthCheck: HealthCheckSchema.prefault({}).describe('Active health checks (probes) (each key has its default).'),
  passive: PassiveSchema.prefault({}).describe('Passive health checks: outlier detection on live traffic (each key has its default).'),
  accessLog: AccessLogSchema.optional().describe('Access log, one line per request (default: off).'),
  admin: AdminSchema.optional().describe('Admin API (default: off).'),
  log: LogSchema.prefault({}).describe('Operational log (each key has its default).'),
  tls: TlsSchema.optional().describe('HTTPS on listen (cert + key, or certificates); tls.backend alone keeps a plain listener and sets how https:// backends are checked (default: off).'),
  pools: PoolsSchema.optional()
    .describe('Several named pools behind one listener, chosen by routes:; a top-level backends: is the pool named "default" (default: none).'),
  routes: RoutesSchema.optional()
    .describe('Which pool serves a request, by host and path; first match wins; a route without match: is the default; no match and no default answers 404 (default: none, every request goes to the one pool).'),
}).superRefine((cfg, ctx) => {
  const seen = new Map<string, number>();
  cfg.backends.forEach((b, i) => {
    const first = seen.get(b.url);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['backends', i, 'url'], message: `duplicate backend ${b.url} (same as backends[${first}])` });
    } else seen.set(b.url, i);
  });
  if (cfg.hashKey !== undefined && cfg.strategy !== 'hash') {
    ctx.addIssue({ code: 'custom', path: ['hashKey'], message: `hashKey is only used with strategy: hash (strategy is ${cfg.strategy})` });
  }
  if (cfg.healthCheck.timeout > cfg.healthCheck.interval) {
    ctx.addIssue({ code: 'custom', path: ['healthCheck', 'timeout'], message: 'healthCheck.timeout must not exceed healthCheck.interval' });
  }
  if (cfg.admin?.allowRemote && !cfg.admin.token && !cfg.admin.tokenFile) {
    ctx.addIssue({ code: 'custom', path: ['admin', 'token'], message: 'admin.allowRemote: true requires admin.token or admin.tokenFile' });
  }
  if (cfg.admin && cfg.admin.listen.port !== 0 && cfg.admin.listen.port === cfg.listen.port
      && (cfg.admin.listen.host === cfg.listen.host || !cfg.admin.listen.host || !cfg.listen.host)) {
    ctx.addIssue({ code: 'custom', path: ['admin', 'listen'], message: 'admin.listen must differ from listen' });
  }
  refineTls(cfg, ctx);
}).superRefine(checkPoolsAndRoutes);

function refineTls(cfg: { tls?: z.output<typeof TlsSchema> | undefined; listen: { host?: string | undefined; port: number } }, ctx: z.RefinementCtx): void {
  const t = cfg.tls;
  if (!t) return;
  if ((t.cert === undefined) !== (t.key === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['tls', t.cert === undefined ? 'key' : 'cert'], message: 'tls.cert and tls.key go together: set both or neither' });
  }
  if (t.http2 === true) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'http2'], message: 'HTTP/2 is not supported yet: the request loop and both engines are built on HTTP/1.1 request and response objects; remove the key or set it to false (clients use HTTP/1.1 over TLS)' });
  }
  const terminates = t.cert !== undefined || (t.certificates?.length ?? 0) > 0;
  if (!terminates && (t.redirectHttp !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'redirectHttp'], message: 'tls.redirectHttp needs a certificate (tls.cert and tls.key, or tls.certificates)' });
  }
  if (t.redirectHttp && t.redirectHttp.port !== 0 && t.redirectHttp.port === cfg.listen.port
      && (t.redirectHttp.host === cfg.listen.host || !t.redirectHttp.host || !cfg.listen.host)) {
    ctx.addIssue({ code: 'custom', path: ['tls', 'redirectHttp'], message: 'tls.redirectHttp must differ from listen' });
  }
}

/** LbConfig is a validated lb.yaml with every default filled in and units in ms / bytes / fractions. */
export type LbConfig = z.output<typeof LbConfigSchema>;
/** LbConfigInput is what a user may write in lb.yaml. */
export type LbConfigInput = z.input<typeof LbConfigSchema>;
/** PoolConfig is one validated entry of `pools:` (only the keys it overrides). */
export type PoolConfig = NonNullable<LbConfig['pools']>[string];
/** RouteConfig is one validated entry of `routes:`. */
export type RouteConfig = NonNullable<LbConfig['routes']>[number];
/** BackendConfig is one validated entry of `backends:`. */
export type BackendConfig = LbConfig['backends'][number];
/** TlsConfig is a validated `tls:` block. */
export type TlsConfig = NonNullable<LbConfig['tls']>;
export type { Cidr } from './address.js';
export type { HashKey, StatusRanges } from './units.js';
