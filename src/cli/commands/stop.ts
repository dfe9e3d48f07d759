/**
 * `yalb stop`: SIGTERM to the daemon named by the pid file, then wait
 * (bounded) until it has drained and exited.
 */
import { parseArgs } from 'node:util';
import { badUsage, type CommandIo } from '../io.js';
import { defaultPidFile, isAlive, livePid } from '../pid-file.js';
import { waitUntil } from './reload.js';

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
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: { config: { type: 'string', short: 'c' }, 'pid-file': { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return badUsage(io, `stop: ${(err as Error).message}`, usage);
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const timeoutS = Number(values.timeout ?? 20);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) return badUsage(io, 'stop: --timeout takes a number of seconds', usage);
  const pidFile = values['pid-file'] ?? defaultPidFile(values.config ?? 'lb.yaml');
  const pid = livePid(pidFile);
  if (pid === undefined) {
    io.err(`yalb: no running daemon (pid file ${pidFile}) (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  const started = Date.now();
  process.kill(pid, 'SIGTERM');
  const gone = await waitUntil(() => (isAlive(pid) ? undefined : true), timeoutS * 1000);
  if (!gone) {
    io.err(`yalb: pid ${pid} is still running after ${timeoutS}s (still draining?)`);
    return 1;
  }
  io.out(`stopped (pid ${pid}, ${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return 0;
}
