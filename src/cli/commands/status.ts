/**
 * `yalb status`: read the admin API (--admin, or the one named in the
 * config) and print the pool as a table (or the raw JSON with --json).
 */
import type { StatusDocument } from '../../admin/status.js';
import { adminRequest, describeRefusal, findAdmin } from '../admin-client.js';
import { configOption, parseCommand } from '../args.js';
import { badUsage } from '../io.js';
import { runWatch, type WatchIo } from './status-watch.js';

/** usage is the help text of `yalb status`. */
export const usage = `Usage: yalb status [-c FILE] [--admin ADDR] [--json] [--watch]

Show the running daemon's pool: each backend with its state and reason,
weight, requests in flight, requests, failures and last probe. With several
pools (pools: and routes:), the routes and one table per pool. Reads the
admin API at --admin ADDR, or at admin.listen of the config file (read even
when the rest of the file is invalid). A token comes from the config
(admin.token, admin.tokenFile) or YALB_ADMIN_TOKEN.

Options:
  -c, --config FILE   config file (default: ./lb.yaml)
      --admin ADDR    the daemon's admin API, host:port (e.g. 127.0.0.1:9090)
      --json          print the /status document as JSON
  -w, --watch         refresh the table every second (with request rates and
                      latency of the last minute) until Ctrl-C; colour on a
                      terminal unless NO_COLOR is set
  -h, --help          show this help

Example:
  yalb status -c /etc/yalb/lb.yaml`;

/** table renders rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** runStatus runs `yalb status` and returns the exit code. */
export async function runStatus(args: string[], io: WatchIo): Promise<number> {
  const values = parseCommand('status', args, io, usage, { ...configOption, admin: { type: 'string' }, json: { type: 'boolean' }, watch: { type: 'boolean', short: 'w' } });
  if (typeof values === 'number') return values;
  const file = values.config ?? 'lb.yaml';
  const found = findAdmin(values.admin, file);
  if (typeof found === 'string') return badUsage(io, `status: ${found}`, usage);
  if (!found.endpoint) {
    io.err(`yalb: ${found.reason}, so there is no admin API to ask; pass --admin ADDR (YALB_ERR_ADMIN)`);
    return 1;
  }
  const ep = found.endpoint;
  const url = `${ep.base}/status`;
  if (values.watch) return runWatch(ep.base, ep.token, io);
  let res;
  try {
    res = await adminRequest(ep, 'GET', '/status');
  } catch (err) {
    io.err(`yalb: no daemon answers at ${url}: ${(err as Error).message} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  if (res.status !== 200) {
    io.err(`yalb: ${describeRefusal(ep, '/status', res)}`);
    return 1;
  }
  if (values.json) {
    io.out(res.body.trimEnd());
    return 0;
  }
  const s = JSON.parse(res.body) as StatusDocument;
  const reload = s.lastReload ? `${s.lastReload.ok ? 'ok' : 'FAILED'} at ${s.lastReload.at}` : 'none since start';
  io.out(`yalb ${s.version}, pid ${s.pid}, up ${s.uptimeSeconds}s, listening on ${s.listen}, strategy ${s.strategy}, generation ${s.generation}, last reload: ${reload}`);
  if (s.lastReload && !s.lastReload.ok) for (const e of s.lastReload.errors) io.out(`  ${e}`);
  io.out(poolTables(s));
  return 0;
}

/**
 * poolTables renders the backends: one table, as before, for one pool
 * without routes:; with several pools (routes, issue 15) the routes, then
 * one table per pool under its name and strategy.
 */
export function poolTables(s: StatusDocument): string {
  const backendTable = (backends: StatusDocument['backends']) => {
    const rows = [['BACKEND', 'STATE', 'REASON', 'WEIGHT', 'IN FLIGHT', 'REQUESTS', 'FAILURES', 'LAST PROBE']];
    for (const b of backends) {
      rows.push([b.url, b.state, b.reason, String(b.weight), String(b.inFlight), String(b.requests), String(b.failures),
        b.lastProbe ? `${b.lastProbe.ok ? 'ok' : b.lastProbe.reason} ${b.lastProbe.at}` : '-']);
    }
    return table(rows);
  };
  const pools = s.pools ?? [];
  if (pools.length <= 1 && (s.routes ?? []).length === 0) return backendTable(s.backends);
  const out: string[] = [];
  if (s.routes?.length) {
    const rows = [['ROUTE', 'HOST', 'PATH PREFIX', 'STRIP', 'POOL']];
    s.routes.forEach((r, i) => rows.push([String(i), r.match?.host ?? '*', r.match?.pathPrefix ?? '*', r.match?.stripPrefix ? 'yes' : '-', r.pool]));
    out.push(table(rows));
  }
  for (const p of pools) out.push(`\npool ${p.name} (strategy ${p.strategy}${p.panic ? ', PANIC MODE' : ''})\n${backendTable(p.backends)}`);
  return out.join('\n');
}
