/**
 * `yalb reload`: ask the running daemon to reload its config and say
 * whether the new config was applied (exit 0) or why not (exit 1). Through
 * the admin API (POST /api/reload answers with the result of that very
 * reload), or else SIGHUP to the pid in the pid file, then the result the
 * daemon writes beside its pid file.
 */
import { type AdminEndpoint, AdminUnreachable, adminRequest, describeRefusal } from '../admin-client.js';
import { type ControlCommand, parseControl, targetFromPidFile, waitUntil } from '../control.js';
import type { CommandIo } from '../io.js';
import { readState } from '../pid-file.js';

/** usage is the help text of `yalb reload`. */
export const usage = `Usage: yalb reload [-c FILE] [--admin ADDR | --pid-file FILE] [--timeout SECONDS]

Ask the running daemon to reload its config and report the result:
"applied" with the changes, "up to date", or the problems as file:line:col
(the running config then keeps serving). The daemon reloads changed files
by itself; this is for scripts, systemd's ExecReload= and filesystems that
send no change events.

The daemon is found through its admin API (POST /api/reload), at --admin
ADDR or at admin.listen of the config file; when the config names no admin
API or nothing listens there, through the pid file (SIGHUP). --pid-file
alone uses the pid file only. A token for the admin API comes from the
config (admin.token, admin.tokenFile) or YALB_ADMIN_TOKEN.

Options:
  -c, --config FILE     the daemon's config file (default: ./lb.yaml)
      --admin ADDR      the daemon's admin API, host:port (e.g. 127.0.0.1:9090)
      --pid-file FILE   pid file of the daemon (default: as for yalb start --daemon)
      --timeout SECONDS how long to wait for the result (default: 30)
  -h, --help            show this help

Exit status: 0 applied or unchanged, 1 rejected or no daemon, 2 bad usage.

Examples:
  yalb reload -c /etc/yalb/lb.yaml
  yalb reload --pid-file /run/yalb.pid`;

const command: ControlCommand = { name: 'reload', killOption: '-HUP', usage, defaultTimeoutS: 30 };

/** runReload runs `yalb reload` and returns the exit code. */
export async function runReload(args: string[], io: CommandIo): Promise<number> {
  const route = parseControl(command, args, io);
  if (typeof route === 'number') return route;
  if (route.via === 'pid-file') return reloadByPidFile(route.pidFile, route.timeoutMs, io, route.adminReason);
  const ep = route.endpoint;
  let answer;
  try {
    answer = await adminRequest(ep, 'POST', '/api/reload', route.timeoutMs);
  } catch (err) {
    const why = `no daemon answers at ${ep.base} (admin API from ${ep.from}): ${(err as Error).message}`;
    if (err instanceof AdminUnreachable && err.refused && route.fallbackPidFile) return reloadByPidFile(route.fallbackPidFile, route.timeoutMs, io, why);
    io.err(`yalb: ${why} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  return reportAdminReload(ep, answer, io);
}

type ReloadDoc = { ok?: boolean; applied?: boolean; changes?: string[]; errors?: string[] };

function reportAdminReload(ep: AdminEndpoint, answer: { status: number; body: string }, io: CommandIo): number {
  let doc: ReloadDoc = {};
  try {
    doc = JSON.parse(answer.body) as ReloadDoc;
  } catch {
    // not JSON: described below by its status
  }
  if (answer.status === 200 && doc.ok) return reportApplied(doc, io);
  if (answer.status === 422) return reportRejected(doc.errors, io);
  if (answer.status === 503) {
    io.err(`yalb: the daemon at ${ep.base} is stopping; nothing was reloaded (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  io.err(`yalb: ${describeRefusal(ep, '/api/reload', answer)}`);
  return 1;
}

function reportApplied(r: ReloadDoc, io: CommandIo): number {
  io.out(r.applied ? `applied${r.changes?.length ? `: ${r.changes.join(', ')}` : ''}` : 'up to date: the running config already matches the file');
  return 0;
}

function reportRejected(errors: string[] | undefined, io: CommandIo): number {
  io.err(`yalb: reload failed; the running config keeps serving (YALB_ERR_RELOAD_FAILED):\n${(errors ?? []).join('\n')}`);
  return 1;
}

/** reloadByPidFile sends SIGHUP to the daemon of the pid file and waits for the result it writes beside it. */
async function reloadByPidFile(pidFile: string, timeoutMs: number, io: CommandIo, why?: string): Promise<number> {
  const target = targetFromPidFile(command, pidFile, timeoutMs, io, why);
  if (typeof target === 'number') return target;
  const { pid } = target;
  const before = readState(pidFile)?.seq ?? -1;
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    io.err(`yalb: cannot signal pid ${pid}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  const state = await waitUntil(() => {
    const s = readState(pidFile);
    return s && s.seq > before ? s : undefined;
  }, timeoutMs);
  const r = state?.lastReload;
  if (!r) {
    io.err(`yalb: sent SIGHUP to pid ${pid} but got no result within ${timeoutMs / 1000}s`);
    return 1;
  }
  if (!r.ok) return reportRejected(r.errors, io);
  return reportApplied(r, io);
}
