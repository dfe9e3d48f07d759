/**
 * `yalb diff [-c FILE] [--admin ADDR]`: validate FILE and print what
 * applying it would change in the running daemon, in the words the reload
 * log uses; applies nothing. Exit 0: no change; 1: changes; 2: an error (an
 * invalid file, no daemon answering, a refused token, bad usage), like
 * diff(1), so CI can tell the three apart.
 *
 * The running config comes from GET /api/config on the admin API: at
 * --admin when given, else at FILE's admin.listen. The token: --token, else
 * YALB_ADMIN_TOKEN, else FILE's admin block (token, "${ENV}" or tokenFile).
 */
import type { LbConfig } from '../../config/schema.js';
import { formatListen } from '../../config/address.js';
import { formatIssue } from '../../config/load.js';
import { readConfigInput } from '../config-input.js';
import { adminTokenOf } from '../../daemon/admin-token.js';
import { configDiff } from '../../reload/diff.js';
import { configOption, parseCommand } from '../args.js';
import type { CommandIo } from '../io.js';

/** usage is the help text of `yalb diff`. */
export const usage = `Usage: yalb diff [-c FILE] [--admin ADDR] [--token TOKEN] [--json]

Validate FILE and print what applying it would change in the running
daemon: backends added, removed, reweighted or drained; strategy, timeouts,
health settings, listen addresses, any other key. Nothing is applied.

Exit status: 0 no change, 1 changes, 2 error (invalid file, no daemon
answering, token refused, bad usage).

Options:
  -c, --config FILE   config file to compare (default: ./lb.yaml; "-" reads stdin)
      --admin ADDR    the running daemon's admin API, host:port or http://host:port
                      (default: admin.listen from FILE)
      --token TOKEN   admin token (default: $YALB_ADMIN_TOKEN, else FILE's admin token)
      --json          print {"changes": [...], "running": {...}} as JSON
  -h, --help          show this help

Examples:
  yalb diff -c lb.yaml
  git show main:lb.yaml | yalb diff -c - --admin 127.0.0.1:9090`;

/** DiffIo is CommandIo plus the environment (for YALB_ADMIN_TOKEN and "${ENV}" tokens). */
export interface DiffIo extends CommandIo {
  env?: NodeJS.ProcessEnv;
}

interface LiveConfig {
  file: string;
  hash: string;
  loadedAt: string;
  git?: { commit: string; subject: string; dirty: boolean };
  config: LbConfig;
}

/** adminUrl turns --admin (host:port, a bare port, or a URL) or admin.listen into the API's base URL. */
function adminUrl(flag: string | undefined, cfg: LbConfig): string | undefined {
  if (flag) {
    if (/^https?:\/\//.test(flag)) return flag.replace(/\/+$/, '');
    return `http://${/^\d+$/.test(flag) ? `127.0.0.1:${flag}` : flag}`;
  }
  const a = cfg.admin;
  if (!a) return undefined;
  const host = a.listen.host === undefined || a.listen.host === '0.0.0.0' || a.listen.host === '::' ? '127.0.0.1' : a.listen.host;
  return `http://${formatListen({ host, port: a.listen.port })}`;
}

/** redactedLike gives the local config the same admin.token digest the daemon shows (see admin/operator.ts). */
async function redactedLike(cfg: LbConfig): Promise<LbConfig> {
  const plain = JSON.parse(JSON.stringify(cfg)) as LbConfig;
  const token = plain.admin?.token;
  if (token === undefined || !plain.admin) return plain;
  const { createHash } = await import('node:crypto');
  plain.admin.token = `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  return plain;
}

/** runDiff runs `yalb diff` and returns the exit code (0 same, 1 different, 2 trouble). */
export async function runDiff(args: string[], io: DiffIo): Promise<number> {
  const values = parseCommand('diff', args, io, usage, {
    ...configOption, admin: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
  });
  if (typeof values === 'number') return values;
  const file = values.config ?? 'lb.yaml';
  const loaded = await readConfigInput(file, io);
  if (!loaded.ok) {
    io.err(`${loaded.issues.map(formatIssue).join('\n')}\nyalb: ${file === '-' ? 'stdin' : file} is not valid; nothing compared (${loaded.code})`);
    return 2;
  }
  const base = adminUrl(values.admin, loaded.config);
  if (!base) {
    io.err(`yalb: ${file} has no admin.listen: name the running daemon's admin API with --admin host:port (YALB_ERR_ADMIN)`);
    return 2;
  }
  const env = io.env ?? process.env;
  let token = values.token ?? env.YALB_ADMIN_TOKEN;
  if (token === undefined) {
    try {
      token = adminTokenOf(loaded.config, env);
    } catch {
      token = undefined; // an unresolvable "${ENV}" or tokenFile: ask without, the daemon says whether it needs one
    }
  }
  const url = `${base}/api/config`;
  let res: Response;
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    io.err(`yalb: no daemon answers at ${url}: ${e.name === 'TimeoutError' ? 'timed out' : (e.cause?.message ?? e.message)} (YALB_ERR_NOT_RUNNING)`);
    return 2;
  }
  const body = await res.text().catch(() => '');
  if (res.status === 401) {
    io.err(`yalb: ${url} answered 401: the admin API needs its token (--token or YALB_ADMIN_TOKEN) (YALB_ERR_ADMIN)`);
    return 2;
  }
  if (res.status !== 200) {
    io.err(`yalb: ${url} answered ${res.status}${res.status === 404 ? ' (a yalb without GET /api/config?)' : ''} (YALB_ERR_ADMIN)`);
    return 2;
  }
  let live: LiveConfig;
  try {
    live = JSON.parse(body) as LiveConfig;
    if (!live.config || !Array.isArray(live.config.backends)) throw new Error('no config in the answer');
  } catch (err) {
    io.err(`yalb: ${url} did not answer a yalb config: ${(err as Error).message} (YALB_ERR_ADMIN)`);
    return 2;
  }
  const changes = live.hash === loaded.hash ? [] : configDiff(live.config, await redactedLike(loaded.config));
  const git = live.git ? `, commit ${live.git.commit}${live.git.dirty ? ' (dirty)' : ''} "${live.git.subject}"` : '';
  const running = `running config ${live.file} (sha256 ${live.hash.slice(0, 12)}${git}, loaded ${live.loadedAt})`;
  if (values.json) {
    io.out(JSON.stringify({ changes, same: live.hash === loaded.hash, running: { file: live.file, hash: live.hash, loadedAt: live.loadedAt, git: live.git } }, null, 2));
  } else if (changes.length === 0) {
    io.out(live.hash === loaded.hash
      ? `no change: ${file === '-' ? 'stdin' : file} is the ${running}`
      : `no effective change (formatting or comments) against the ${running}`);
  } else {
    io.out(`${changes.length} ${changes.length === 1 ? 'change' : 'changes'} against the ${running}:`);
    for (const c of changes) io.out(`  ${c}`);
  }
  return changes.length === 0 ? 0 : 1;
}
