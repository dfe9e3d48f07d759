/**
 * `yalb start`: run the balancer in the foreground until SIGTERM / SIGINT.
 */
import { parseArgs } from 'node:util';
import { isYalbError } from '../../errors.js';
import { createDaemon } from '../../daemon/daemon.js';
import { installSignalHandlers } from '../../daemon/signals.js';
import { badUsage, type CommandIo } from '../io.js';

/** usage is the help text of `yalb start`. */
export const usage = `Usage: yalb start [-c FILE]

Start the load balancer in the foreground on a config file. It probes every
backend once, then listens; it reloads the file when it changes (or on
SIGHUP) and drains in-flight requests on SIGTERM or Ctrl-C.

Options:
  -c, --config FILE   config file (default: ./lb.yaml)
  -h, --help          show this help

Examples:
  yalb start
  yalb start -c /etc/yalb/lb.yaml`;

/** runStart runs `yalb start`; resolves with the exit code once the daemon has stopped. */
export async function runStart(args: string[], io: CommandIo): Promise<number> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return badUsage(io, `start: ${(err as Error).message}`, usage);
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const configPath = values.config ?? 'lb.yaml';
  let daemon;
  try {
    daemon = await createDaemon({ configPath });
  } catch (err) {
    if (isYalbError(err)) {
      io.err(`yalb: cannot start (${err.code}):\n${err.message}`);
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    const remove = installSignalHandlers(daemon, () => {
      remove();
      resolve(0);
    }, () => resolve(1));
  });
}
