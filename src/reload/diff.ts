/**
 * configDiff describes what a reload changes, for the one log line an
 * applied reload writes, the reload history and `yalb diff`:
 * "+1 backend (…), -1 backend (…), strategy a → b, timeouts.connect 5s → 2s",
 * and for a named pool the same words after its name: "pool api: +1 backend (…)".
 */
import { formatListen, type ListenAddress } from '../config/address.js';
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
    for (const k of sections) leafDiff(k, o[k], p[k], lines);
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
  // Every other key, leaf by leaf ("timeouts.connect 5s → 2s"), so a key
  // added to the schema is described without a change here.
  const handled = new Set(['backends', 'strategy', 'engine', 'workers', 'listen', 'pools', 'routes']);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (!handled.has(k)) leafDiff(k, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], out);
  }
  out.push(...poolsDiff(a, b));
  if (JSON.stringify(a.routes) !== JSON.stringify(b.routes)) out.push('routes changed');
  return out;
}

/** DURATION_KEYS are the keys whose numbers are milliseconds (printed as "2s", "500ms"). */
const DURATION_KEYS = /^(slowStart|retry\.delay|timeouts\.\w+|healthCheck\.(interval|timeout)|passive\.ejectFor|queue\.timeout|shutdown\.delay)$/;
/** FRACTION_KEYS are percentages the schema turns into fractions (printed back as "20%"). */
const FRACTION_KEYS = /^(retry\.budget|healthCheck\.panicBelow)$/;
/** SECRET_KEYS are never printed, only said to have changed. */
const SECRET_KEYS = /^admin\.token$/;

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatMs(ms: number): string {
  if (ms === 0 || ms % 1000 !== 0) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** isAddress tells a parsed listen address ({ host?, port }) from other objects. */
function isAddress(v: unknown): v is ListenAddress {
  return isPlain(v) && typeof v.port === 'number' && Object.keys(v).every((k) => k === 'host' || k === 'port');
}

function formatValue(key: string, v: unknown): string {
  if (isAddress(v)) return formatListen(v);
  if (typeof v === 'number' && DURATION_KEYS.test(key)) return formatMs(v);
  if (typeof v === 'number' && FRACTION_KEYS.test(key)) return `${Math.round(v * 10_000) / 100}%`;
  if (key === 'healthCheck.expectStatus' && Array.isArray(v)) return (v as Array<[number, number]>).map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** leafDiff describes the change of one key, walking into objects: "healthCheck.interval 20s → 2s", "accessLog set", "sticky removed". */
function leafDiff(key: string, a: unknown, b: unknown, out: string[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  if (SECRET_KEYS.test(key)) {
    out.push(`${key} changed`);
    return;
  }
  if (isPlain(a) && isPlain(b) && !(isAddress(a) && isAddress(b))) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) leafDiff(`${key}.${k}`, x[k], y[k], out);
    return;
  }
  if (a === undefined) out.push(`${key} set${isPlain(b) ? '' : ` to ${formatValue(key, b)}`}`);
  else if (b === undefined) out.push(`${key} removed`);
  else out.push(`${key} ${formatValue(key, a)} → ${formatValue(key, b)}`);
}
