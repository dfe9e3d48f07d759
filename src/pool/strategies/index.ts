/**
 * The strategy table: a name from lb.yaml → its factory. The `satisfies`
 * clause makes the compiler check that every name the schema accepts has a
 * factory, and that every factory has the Strategy shape.
 */
import type { StrategyName } from '../../config/schema.js';
import { hash, ipHash } from './hash.js';
import { leastConnections } from './least-connections.js';
import { randomTwo } from './random-two.js';
import { roundRobin } from './round-robin.js';
import type { StrategyFactory } from './strategy.js';
import { weightedRoundRobin } from './weighted-round-robin.js';

const factories = {
  'round-robin': roundRobin,
  'weighted-round-robin': weightedRoundRobin,
  'least-connections': leastConnections,
  'random-two': randomTwo,
  'ip-hash': ipHash,
  hash,
} as const satisfies Record<StrategyName, StrategyFactory>;

/** createStrategy returns the factory registered for `name`. */
export function createStrategy(name: StrategyName): StrategyFactory {
  return factories[name];
}
