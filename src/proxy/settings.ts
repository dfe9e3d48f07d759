/**
 * ProxySettings: the part of one config generation the request path reads,
 * derived once per reload from the validated config (whose strings zod has
 * already parsed): trusted proxies compiled to a BlockList, the hash key
 * only when the strategy hashes, timeouts grouped for the engine.
 */
import { BlockList } from 'node:net';
import type { HashKey, LbConfig } from '../config/schema.js';
import type { Pool } from '../pool/pool.js';
import { createStrategy } from '../pool/strategies/index.js';
import type { RouteMatcher } from '../routes/matcher.js';
import type { AttemptTimeouts, Engine, EngineName } from './engine.js';

/** ProxySettings are the per-generation settings of the request loop. */
export interface ProxySettings {
  /** hashKey: what to hash, when the strategy hashes (undefined otherwise: no key is computed). */
  hashKey: HashKey | undefined;
  stickyCookie: string | undefined;
  sameBackend: number;
  retryDelayMs: number;
  maxAttempts: number;
  bufferLimit: number;
  timeouts: AttemptTimeouts;
  /** clientIdleMs: timeouts.clientIdle, the longest pause in a request body (0 = off). */
  clientIdleMs: number;
  /** queue: how many requests may wait for a full pool (0 = none) and for how long. */
  queue: { size: number; timeoutMs: number };
  trusted: BlockList | undefined;
}

/** Route is where a request goes: one pool of a generation, with its settings and the engine. */
export interface Route {
  readonly pool: Pool;
  readonly settings: ProxySettings;
  readonly engine: Engine;
}

/**
 * Served is what a request reads once at its start: one generation. Without
 * routes: it is itself the route (its one pool: no lookup per request);
 * with routes:, `routes` picks the route by host and path (issue 15).
 */
export interface Served extends Route {
  readonly routes: RouteMatcher<Route> | undefined;
}

/** RouteHolder holds the current generation; it changes by one assignment on reload. */
export interface RouteHolder {
  readonly current: Served;
}

/** PoolSettings are the keys a pool may override (routes, issue 15); a whole config has them too. */
export type PoolSettings = Pick<LbConfig, 'strategy' | 'hashKey' | 'sticky' | 'retry' | 'timeouts'>;

/** engineNameOf is the engine a config asks for (`engine:`). */
export function engineNameOf(cfg: LbConfig): EngineName {
  return cfg.engine;
}

/** proxySettingsFrom derives the request path's settings from a validated config (for one of its pools: `pool`). */
export function proxySettingsFrom(cfg: LbConfig, pool: PoolSettings = cfg): ProxySettings {
  let trusted: BlockList | undefined;
  if (cfg.trustedProxies.length) {
    trusted = new BlockList();
    for (const c of cfg.trustedProxies) trusted.addSubnet(c.address, c.prefix, c.family);
  }
  return {
    hashKey: createStrategy(pool.strategy).hashes ? (pool.hashKey ?? { kind: 'ip' }) : undefined,
    stickyCookie: pool.sticky?.cookie,
    sameBackend: pool.retry.sameBackend,
    retryDelayMs: pool.retry.delay,
    maxAttempts: pool.retry.maxAttempts,
    bufferLimit: pool.retry.bufferLimit,
    timeouts: { connectMs: pool.timeouts.connect, responseMs: pool.timeouts.response, idleMs: pool.timeouts.idle },
    clientIdleMs: pool.timeouts.clientIdle,
    queue: { size: cfg.queue.size, timeoutMs: cfg.queue.timeout },
    trusted,
  };
}
