/**
 * configDiff describes what a reload changes, for the one log line an
 * applied reload writes: "+1 backend (…), -1 backend (…), strategy a → b".
 */
import { formatListen } from '../config/address.js';
import type { LbConfig } from '../config/schema.js';

/** configDiff lists the user-visible changes from `a` to `b`; empty when only comments or formatting changed. */
export function configDiff(a: LbConfig, b: LbConfig): string[] {
  const out: string[] = [];
  const before = new Map(a.backends.map((x) => [x.url, x]));
  const after = new Map(b.backends.map((x) => [x.url, x]));
  const added = [...after.keys()].filter((u) => !before.has(u));
  const removed = [...before.keys()].filter((u) => !after.has(u));
  const plural = (n: number) => (n === 1 ? 'backend' : 'backends');
  if (added.length) out.push(`+${added.length} ${plural(added.length)} (${added.join(', ')})`);
  if (removed.length) out.push(`-${removed.length} ${plural(removed.length)} (${removed.join(', ')})`);
  for (const [url, nb] of after) {
    const ob = before.get(url);
    if (!ob) continue;
    if (ob.weight !== nb.weight) out.push(`weight ${url} ${ob.weight} → ${nb.weight}`);
    if (ob.drain !== nb.drain) out.push(`${url} ${nb.drain ? 'draining' : 'no longer draining'}`);
  }
  if (a.strategy !== b.strategy) out.push(`strategy ${a.strategy} → ${b.strategy}`);
  if (a.engine !== b.engine) out.push(`engine ${a.engine} → ${b.engine}`);
  if (formatListen(a.listen) !== formatListen(b.listen)) out.push(`listen ${formatListen(a.listen)} → ${formatListen(b.listen)}`);
  const sections = ['hashKey', 'sticky', 'slowStart', 'trustedProxies', 'retry', 'timeouts', 'healthCheck', 'passive', 'accessLog', 'admin', 'log'] as const;
  for (const k of sections) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k} changed`);
  }
  return out;
}
