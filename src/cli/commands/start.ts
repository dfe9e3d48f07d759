/**
 * `yalb start`: run the balancer, in the foreground or (--daemon) detached
 * with a pid file, until SIGTERM / SIGINT.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createDaemon, type Daemon } from '../../daemon/daemon.js';
import { reportToParent, spawnDetached, DETACHED_ENV } from '../../daemon/detach.js';
import { installSignalHandlers } from '../../daemon/signals.js';
import { isYalbError, YalbError } from '../../errors.js';
import { badUsage, type CommandIo } from '../io.js';
import { defaultPidFile, livePid, removePidFile, writePidFile, writeState } from '../pid-file.js';

/** usage is the help text of `yalb start`. */
export const usage = `Usage: yalb start [-c FILE] [--daemon] [--pid-file FILE] [--log-file FILE]

Start the load balancer on a config file. It probes every backend once, then
listens; it reloads the file when it changes (or on SIGHUP), reopens log
files on SIGUSR1, and drains in-flight requests on SIGTERM or Ctrl-C.

Options:
  -c, --config FILE     config file (default: ./lb.yaml)
  -d, --daemon          run in the background; returns once it is listening
      --pid-file FILE   write the pid here (default with --daemon:
                        $XDG_RUNTIME_DIR/yalb.pid, else yalb.pid next to the config)
      --log-file FILE   write the operational log here instead of stdout
  -h, --help            show this help

Examples:
  yalb start
  yalb start -c /etc/yalb/lb.yaml --daemon --log-file /var/log/yalb.log`;

const options = {
  config: { type: 'string', short: 'c' },
  daemon: { type: 'boolean', short: 'd' },
  'pid-file': { type: 'string' },
  'log-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** runStart runs `yalb start`; resolves with the exit code once the daemon has stopped (or detached). */
export async function runStart(args: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, strict: true, allowPositionals: false, options }));
  } catch (err) {
    return badUsage(io, `start: ${(err as Error).message}`, usage);
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const configPath = values.config ?? 'lb.yaml';
  const detachedChild = process.env[DETACHED_ENV] === '1';
  const pidFile = values['pid-file'] ?? (values.daemon || detachedChild ? defaultPidFile(configPath) : undefined);

  if (values.daemon && !detachedChild) {
    const running = pidFile ? livePid(pidFile) : undefined;
    if (running !== undefined) {
      io.err(`yalb: already running (pid ${running}, ${pidFile}) (YALB_ERR_PID_FILE)`);
      return 1;
    }
    const childArgs = ['start', '-c', configPath, ...(pidFile ? ['--pid-file', pidFile] : []), ...(values['log-file'] ? ['--log-file', values['log-file']] : [])];
    try {
      const pid = await spawnDetached(fileURLToPath(new URL('../../cli.js', import.meta.url)), childArgs, values['log-file']);
      io.out(`yalb started in the background (pid ${pid}, pid file ${pidFile}${values['log-file'] ? `, log ${values['log-file']}` : ''})`);
      return 0;
    } catch (err) {
      io.err(`yalb: cannot start: ${(err as Error).message}`);
      return 1;
    }
  }

  // While the first probes run, SIGHUP would kill the process and SIGUSR1
  // would open the inspector: ignore both until the real handlers are in.
  const ignore = () => {};
  process.on('SIGHUP', ignore);
  process.on('SIGUSR1', ignore);
  let daemon: Daemon;
  try {
    const running = pidFile ? livePid(pidFile) : undefined;
    if (running !== undefined) throw new YalbError('YALB_ERR_PID_FILE', `already running (pid ${running}, ${pidFile})`);
    daemon = await createDaemon({ configPath, logFile: values['log-file'] });
  } catch (err) {
    return startFailed(err, io);
  } finally {
    process.off('SIGHUP', ignore);
    process.off('SIGUSR1', ignore);
  }

  let seq = 0;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((r) => { resolveExit = r; });
  const finish = (code: number) => {
    remove();
    if (pidFile) removePidFile(pidFile);
    resolveExit(code);
  };
  // Handlers first: a SIGTERM that arrives while the pid file is written must drain, not kill.
  const remove = installSignalHandlers(daemon, {
    stopped: () => finish(0),
    forced: () => finish(1),
    reloaded: (result) => {
      if (!pidFile) return;
      try {
        writeState(pidFile, { seq: ++seq, lastReload: { ...result, at: new Date().toISOString() } });
      } catch (err) {
        daemon.log.warn(`cannot write ${pidFile}.state for yalb reload: ${(err as Error).message}`);
      }
    },
  });
  if (pidFile) {
    try {
      writePidFile(pidFile);
      writeState(pidFile, { seq });
    } catch (err) {
      remove();
      await daemon.stop();
      return startFailed(err, io);
    }
  }
  reportToParent({ ready: true, pid: process.pid });
  return exit;
}

function startFailed(err: unknown, io: CommandIo): number {
  const message = isYalbError(err) ? `${err.message} (${err.code})` : (err as Error).message;
  if (!reportToParent({ ready: false, error: message })) io.err(`yalb: cannot start: ${message}`);
  if (isYalbError(err)) return 1;
  throw err;
}
