/**
 * resolvePools turns a validated config into its pools, each with every
 * setting it uses: the pool's own key, else the top-level one (per key
 * inside healthCheck, retry, timeouts and passive). A top-level backends:
 * is the pool named "default" and comes first; the pools: entries follow in
 * file order. Pure: the schema's checks and the generation builder both
 * read pools through it, so the two never disagree.
 */
import type { LbConfig } from './schema.js';

/** DEFAULT_POOL is the name of the pool a top-level backends: makes. */
export const DEFAULT_POOL = 'default';

/** ResolvedPool is one pool with every setting filled in (top-level values where the pool says nothing). */
export interface ResolvedPool extends Pick<LbConfig, 'strategy' | 'hashKey' | 'sticky' | 'backends' | 'slowStart' | 'healthCheck' | 'retry' | 'timeouts' | 'passive'> {
  name: string;
  /** path is where the pool is written in lb.yaml (['backends'] or ['pools', name]), for errors. */
  path: (string | number)[];
}

/** defined copies the keys of `o` whose value is not undefined. */
function defined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** resolvePools lists a config's pools in order ("default" first when top-level backends: is given). */
export function resolvePools(cfg: LbConfig): ResolvedPool[] {
  const out: ResolvedPool[] = [];
  if (cfg.backends.length > 0) {
    out.push({
      name: DEFAULT_POOL, path: ['backends'], strategy: cfg.strategy, hashKey: cfg.hashKey, sticky: cfg.sticky, backends: cfg.backends,
      slowStart: cfg.slowStart, healthCheck: cfg.healthCheck, retry: cfg.retry, timeouts: cfg.timeouts, passive: cfg.passive,
    });
  }
  for (const [name, p] of Object.entries(cfg.pools ?? {})) {
    const strategy = p.strategy ?? cfg.strategy;
    out.push({
      name,
      path: ['pools', name],
      strategy,
      // A top-level hashKey applies to a pool that hashes, whatever its strategy came from.
      hashKey: p.hashKey ?? cfg.hashKey,
      // An inherited sticky cookie gets the pool's name: two pools never share one unless both name it.
      sticky: p.sticky ?? (cfg.sticky ? { cookie: `${cfg.sticky.cookie}-${name}` } : undefined),
      backends: p.backends,
      slowStart: p.slowStart ?? cfg.slowStart,
      healthCheck: { ...cfg.healthCheck, ...defined(p.healthCheck) },
      retry: { ...cfg.retry, ...defined(p.retry) },
      timeouts: { ...cfg.timeouts, ...defined(p.timeouts) },
      passive: { ...cfg.passive, ...defined(p.passive) },
    });
  }
  return out;
}
