/**
 * `yalb status`: read the admin API named in the config and print the pool
 * as a table (or the raw JSON with --json).
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { formatListen } from '../../config/address.js';
import { formatIssue, loadConfig } from '../../config/load.js';
import { badUsage, type CommandIo } from '../io.js';

/** usage is the help text of `yalb status`. */
export const usage = `Usage: yalb status [-c FILE] [--json]

Show the running daemon's pool: each backend with its state and reason,
weight, requests in flight, requests, failures and last probe. Reads the
admin API at admin.listen from the config file.

Options:
  -c, --config FILE   config file (default: ./lb.yaml)
      --json          print the /status document as JSON
  -h, --help          show this help

Example:
  yalb status -c /etc/yalb/lb.yaml`;

interface StatusDoc {
  version: string;
  pid: number;
  uptimeSeconds: number;
  listen: string;
  strategy: string;
  generation: number;
  lastReload: { ok: boolean; at: string; errors?: string[] } | null;
  backends: Array<{ url: string; state: string; reason: string; weight: number; inFlight: number; requests: number; failures: number; lastProbe: { ok: boolean; reason: string; at: string } | null }>;
}

function get(url: string, token: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** table renders rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** runStatus runs `yalb status` and returns the exit code. */
export async function runStatus(args: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return badUsage(io, `status: ${(err as Error).message}`, usage);
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
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
  const s = JSON.parse(res.body) as StatusDoc;
  const reload = s.lastReload ? `${s.lastReload.ok ? 'ok' : 'FAILED'} at ${s.lastReload.at}` : 'none since start';
  io.out(`yalb ${s.version}, pid ${s.pid}, up ${s.uptimeSeconds}s, listening on ${s.listen}, strategy ${s.strategy}, generation ${s.generation}, last reload: ${reload}`);
  for (const e of s.lastReload?.errors ?? []) io.out(`  ${e}`);
  const rows = [['BACKEND', 'STATE', 'REASON', 'WEIGHT', 'IN FLIGHT', 'REQUESTS', 'FAILURES', 'LAST PROBE']];
  for (const b of s.backends) {
    rows.push([b.url, b.state, b.reason, String(b.weight), String(b.inFlight), String(b.requests), String(b.failures),
      b.lastProbe ? `${b.lastProbe.ok ? 'ok' : b.lastProbe.reason} ${b.lastProbe.at}` : '-']);
  }
  io.out(table(rows));
  return 0;
}
