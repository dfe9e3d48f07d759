/**
 * `yalb reload`: send SIGHUP to the running daemon named by the pid file,
 * wait for the reload result the daemon writes beside its pid file, and say
 * whether the new config was applied (exit 0) or why not (exit 1).
 */
import { parseControl, waitUntil } from '../control.js';
import type { CommandIo } from '../io.js';
import { readState } from '../pid-file.js';

/** usage is the help text of `yalb reload`. */
export const usage = `Usage: yalb reload [-c FILE] [--pid-file FILE] [--timeout SECONDS]

Ask the running daemon to reload its config (SIGHUP) and report the result:
"applied" with the changes, "unchanged", or the problems as file:line:col.
The daemon reloads changed files by itself; this is for scripts and for
filesystems that send no change events.

Options:
  -c, --config FILE     config file, to find the default pid file (default: ./lb.yaml)
      --pid-file FILE   pid file of the daemon (default: as for yalb start --daemon)
      --timeout SECONDS how long to wait for the result (default: 30)
  -h, --help            show this help

Exit status: 0 applied or unchanged, 1 failed or no daemon, 2 bad usage.

Example:
  yalb reload --pid-file /run/yalb.pid`;

/** runReload runs `yalb reload` and returns the exit code. */
export async function runReload(args: string[], io: CommandIo): Promise<number> {
  const target = parseControl({ name: 'reload', killOption: '-HUP', usage, defaultTimeoutS: 30 }, args, io);
  if (typeof target === 'number') return target;
  const { pid, pidFile, timeoutMs } = target;
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
  if (!r.ok) {
    io.err(`yalb: reload failed; the running config keeps serving (YALB_ERR_RELOAD_FAILED):\n${(r.errors ?? []).join('\n')}`);
    return 1;
  }
  const applied = (r as { applied?: boolean }).applied;
  io.out(applied ? `applied${r.changes?.length ? `: ${r.changes.join(', ')}` : ''}` : 'up to date: the running config already matches the file');
  return 0;
}
