/**
 * `yalb status`: read the admin API named in the config and print the pool
 * as a table (or the raw JSON with --json).
 */
import type { StatusDocument } from '../../admin/status.js';
import { formatListen } from '../../config/address.js';
import { formatIssue, loadConfig } from '../../config/load.js';
import { configOption, parseCommand } from '../args.js';
import type { CommandIo } from '../io.js';

/** usage is the help text of `yalb status`. */
export const usage = `Usage: yalb status [-c FILE] [--json]

Show the running daemon's pool: each backend with its state and reason,
weight, requests in flight, requests, failures and last probe. With several
pools (pools: and routes:), the routes and one table per pool. Reads the
admin API at admin.listen from the config file.

Options:
  -c, --config FILE   config file (default: ./lb.yaml)
      --json          print the /status document as JSON
  -h, --help          show this help

Example:
  yalb status -c /etc/yalb/lb.yaml`;

/**
 * get fetches `url` with the admin token, if any, and reads the whole body;
 * bounded to 5 s in all (connect, answer and body).
 */
async function get(url: string, token: string | undefined): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    throw new Error(fetchFailure(err));
  }
}

/**
 * fetchFailure says why a fetch failed. fetch reports every network error
 * as "fetch failed" with the socket error ("connect ECONNREFUSED …") in
 * `cause`, and the end of its AbortSignal.timeout as a TimeoutError.
 */
function fetchFailure(err: unknown): string {
  const e = err as (Error & { cause?: { message?: string } }) | undefined;
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.message ?? e?.message ?? String(err);
}

/** table renders rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** runStatus runs `yalb status` and returns the exit code. */
export async function runStatus(args: string[], io: CommandIo): Promise<number> {
  const values = parseCommand('status', args, io, usage, { ...configOption, json: { type: 'boolean' } });
  if (typeof values === 'number') return values;
  const file = values.config ?? 'lb.yaml';
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    io.err(`yalb: cannot read the admin address from ${file}:\n${loaded.issues.map(formatIssue).join('\n')}`);
    return 1;
  }
  const admin = loaded.config.admin;
  if (!admin) {
    io.err(`yalb: ${file} has no admin.listen, so there is no admin API to ask (YALB_ERR_ADMIN)`);
    return 1;
  }
  const host = admin.listen.host === undefined || admin.listen.host === '0.0.0.0' || admin.listen.host === '::' ? '127.0.0.1' : admin.listen.host;
  const url = `http://${formatListen({ host, port: admin.listen.port })}/status`;
  let res;
  try {
    res = await get(url, admin.token);
  } catch (err) {
    io.err(`yalb: no daemon answers at ${url}: ${(err as Error).message} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  if (res.status !== 200) {
    io.err(`yalb: ${url} answered ${res.status} (YALB_ERR_ADMIN)`);
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
