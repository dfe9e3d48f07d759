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

/** Route is what a request reads once at its start: the pool, settings and engine of one generation. */
export interface Route {
  readonly pool: Pool;
  readonly settings: ProxySettings;
  readonly engine: Engine;
}

/** RouteHolder holds the current route; it changes by one assignment on reload. */
export interface RouteHolder {
  readonly current: Route;
}

/** engineNameOf is the engine a config asks for (`engine:`). */
export function engineNameOf(cfg: LbConfig): EngineName {
  return cfg.engine;
}

/** proxySettingsFrom derives the request path's settings from a validated config. */
export function proxySettingsFrom(cfg: LbConfig): ProxySettings {
  let trusted: BlockList | undefined;
  if (cfg.trustedProxies.length) {
    trusted = new BlockList();
    for (const c of cfg.trustedProxies) trusted.addSubnet(c.address, c.prefix, c.family);
  }
  return {
    hashKey: createStrategy(cfg.strategy).hashes ? (cfg.hashKey ?? { kind: 'ip' }) : undefined,
    stickyCookie: cfg.sticky?.cookie,
    sameBackend: cfg.retry.sameBackend,
    retryDelayMs: cfg.retry.delay,
    maxAttempts: cfg.retry.maxAttempts,
    bufferLimit: cfg.retry.bufferLimit,
    timeouts: { connectMs: cfg.timeouts.connect, responseMs: cfg.timeouts.response, idleMs: cfg.timeouts.idle },
    clientIdleMs: cfg.timeouts.clientIdle,
    queue: { size: cfg.queue.size, timeoutMs: cfg.queue.timeout },
    trusted,
  };
}
