/**
 * ProxySettings: the part of one config generation the request path reads,
 * precomputed once per reload (trusted proxies compiled to a BlockList).
 */
import { BlockList } from 'node:net';
import { parseCidr } from '../config/address.js';
import type { LbConfig, StrategyName } from '../config/schema.js';
import type { Pool } from '../pool/pool.js';

/** ProxySettings are the per-generation settings of the request loop. */
export interface ProxySettings {
  strategy: StrategyName;
  hashKey: string | undefined;
  stickyCookie: string | undefined;
  sameBackend: number;
  retryDelayMs: number;
  maxAttempts: number;
  retryBudget: number;
  bufferLimit: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  trusted: BlockList | undefined;
  passiveEnabled: boolean;
}

/** Route is what a request reads once at its start: the pool and settings of one generation. */
export interface Route {
  readonly pool: Pool;
  readonly settings: ProxySettings;
}

/** RouteHolder holds the current route; it changes by one assignment on reload. */
export interface RouteHolder {
  readonly current: Route;
}

/** proxySettingsFrom derives the request path's settings from a validated config. */
export function proxySettingsFrom(cfg: LbConfig): ProxySettings {
  let trusted: BlockList | undefined;
  if (cfg.trustedProxies.length) {
    trusted = new BlockList();
    for (const entry of cfg.trustedProxies) {
      const c = parseCidr(entry);
      if (typeof c === 'string') continue; // the schema already refused it
      trusted.addSubnet(c.address, c.prefix, c.family);
    }
  }
  return {
    strategy: cfg.strategy,
    hashKey: cfg.hashKey,
    stickyCookie: cfg.sticky?.cookie,
    sameBackend: cfg.retry.sameBackend,
    retryDelayMs: cfg.retry.delay,
    maxAttempts: cfg.retry.maxAttempts,
    retryBudget: cfg.retry.budget,
    bufferLimit: cfg.retry.bufferLimit,
    connectTimeoutMs: cfg.timeouts.connect,
    responseTimeoutMs: cfg.timeouts.response,
    idleTimeoutMs: cfg.timeouts.idle,
    trusted,
    passiveEnabled: cfg.passive.consecutiveFailures > 0,
  };
}
