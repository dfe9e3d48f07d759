/**
 * Network-free pools for unit tests of the health model: backends named a,
 * b, c… (URL http://a:80 …) on a fake clock, with every transition the
 * registry reports collected in order.
 */
import type { StrategyName } from '../../src/config/schema.js';
import type { Backend } from '../../src/pool/backend.js';
import type { Transition } from '../../src/pool/health-state.js';
import { Pool, type PoolDescription } from '../../src/pool/pool.js';
import { BackendRegistry } from '../../src/pool/registry.js';

/** FakeSpec is one backend of a fake pool. */
export interface FakeSpec {
  name: string;
  weight?: number;
  drain?: boolean;
}

/** FakePoolOptions override the pool description's rules (defaults: the lb.yaml defaults). */
export interface FakePoolOptions {
  strategy?: StrategyName;
  rise?: number;
  fall?: number;
  consecutiveFailures?: number;
  ejectForMs?: number;
  maxEjectedPercent?: number;
  panicBelow?: number;
  slowStartMs?: number;
  /** registry/clock to share with an earlier pool (a reload). */
  shared?: { registry: BackendRegistry; clock: { now: number }; transitions: Transition[] };
  generation?: number;
  /**
   * serve: how the pool is committed. 'now' (default) makes it the serving
   * generation at once; a Pool makes it the successor of that one (a reload
   * commit); 'never' leaves it a generation being built.
   */
  serve?: 'now' | 'never' | Pool;
}

/** FakePool is a pool plus its clock, its registry and the transitions it reported. */
export interface FakePool {
  pool: Pool;
  registry: BackendRegistry;
  clock: { now: number };
  transitions: Transition[];
  /** by returns the backend named `name`. */
  by: (name: string) => Backend;
  /** advance moves the fake clock forward. */
  advance: (ms: number) => void;
}

/** urlOf is the URL a fake backend named `name` gets. */
export const urlOf = (name: string): string => `http://${name}:80`;

/** nameOf is the name of a fake backend ("-" for none). */
export const nameOf = (b: Backend | undefined): string => (b === undefined ? '-' : new URL(b.url).hostname);

/** makeFakePool builds a pool on a fake clock (starting at 1,000,000 ms) that records transitions. */
export function makeFakePool(specs: Array<FakeSpec | string>, o: FakePoolOptions = {}): FakePool {
  const clock = o.shared?.clock ?? { now: 1_000_000 };
  const transitions = o.shared?.transitions ?? [];
  const registry = o.shared?.registry ?? new BackendRegistry({ now: () => clock.now, onTransition: (t) => transitions.push(t) });
  const description: PoolDescription = {
    generation: o.generation ?? 1,
    strategy: o.strategy ?? 'round-robin',
    backends: specs.map((s) => (typeof s === 'string' ? { name: s } : s))
      .map((s) => ({ url: urlOf(s.name), weight: s.weight ?? 1, drain: s.drain ?? false })),
    slowStartMs: o.slowStartMs ?? 0,
    panicBelow: o.panicBelow ?? 0,
    probe: { rise: o.rise ?? 2, fall: o.fall ?? 3 },
    passive: {
      consecutiveFailures: o.consecutiveFailures ?? 5,
      ejectForMs: o.ejectForMs ?? 30_000,
      maxEjectedPercent: o.maxEjectedPercent ?? 50,
    },
  };
  const pool = new Pool(description, registry, { random: () => 0.5 });
  if (o.serve instanceof Pool) pool.serve(o.serve);
  else if (o.serve !== 'never') pool.serve();
  const by = (name: string): Backend => {
    const b = pool.backend(urlOf(name));
    if (!b) throw new Error(`no backend ${name}`);
    return b;
  };
  return { pool, registry, clock, transitions, by, advance: (ms) => { clock.now += ms; } };
}
