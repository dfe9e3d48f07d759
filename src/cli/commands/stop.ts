/**
 * `yalb stop`: SIGTERM to the daemon named by the pid file, then wait
 * (bounded) until it has drained and exited.
 */
import { parseControl, waitUntil } from '../control.js';
import type { CommandIo } from '../io.js';
import { isSameProcess } from '../pid-file.js';

/** usage is the help text of `yalb stop`. */
export const usage = `Usage: yalb stop [-c FILE] [--pid-file FILE] [--timeout SECONDS]

Stop the running daemon: it stops accepting, lets in-flight requests finish
(up to 10 s), and exits; this waits for that and reports.

Options:
  -c, --config FILE     config file, to find the default pid file (default: ./lb.yaml)
      --pid-file FILE   pid file of the daemon
      --timeout SECONDS how long to wait for the exit (default: 20)
  -h, --help            show this help

Example:
  yalb stop --pid-file /run/yalb.pid`;

/** runStop runs `yalb stop` and returns the exit code. */
export async function runStop(args: string[], io: CommandIo): Promise<number> {
  const target = parseControl({ name: 'stop', killOption: '', usage, defaultTimeoutS: 20 }, args, io);
  if (typeof target === 'number') return target;
  const { pid, identity, timeoutMs } = target;
  const started = Date.now();
  try {
    process.kill(pid, 'SIGTERM');
  } catch (err) {
    io.err(`yalb: cannot signal pid ${pid}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  // Gone means: no live process with this pid and start time. A later
  // process that reuses the pid while we wait does not keep us waiting.
  const gone = await waitUntil(() => (isSameProcess(pid, identity) ? undefined : true), timeoutMs);
  if (!gone) {
    io.err(`yalb: pid ${pid} is still running after ${timeoutMs / 1000}s (still draining?)`);
    return 1;
  }
  io.out(`stopped (pid ${pid}, ${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return 0;
}
