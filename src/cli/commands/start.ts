/**
 * `yalb start`: run the balancer, in the foreground or (--daemon) detached
 * with a pid file, until SIGTERM / SIGINT.
 */
import { fileURLToPath } from 'node:url';
import { createDaemon, type Daemon } from '../../daemon/daemon.js';
import { reportToParent, spawnDetached, DETACHED_ENV } from '../../daemon/detach.js';
import { installSignalHandlers } from '../../daemon/signals.js';
import { isYalbError, YalbError } from '../../errors.js';
import { configOption, parseCommand } from '../args.js';
import type { CommandIo } from '../io.js';
import { defaultPidFile, inspectPidFile, removePidFile, unsureStartError, writePidFile, writeState } from '../pid-file.js';

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
  ...configOption,
  daemon: { type: 'boolean', short: 'd' },
  'pid-file': { type: 'string' },
  'log-file': { type: 'string' },
} as const;

/** runStart runs `yalb start`; resolves with the exit code once the daemon has stopped (or detached). */
export async function runStart(args: string[], io: CommandIo): Promise<number> {
  const values = parseCommand('start', args, io, usage, options);
  if (typeof values === 'number') return values;
  const configPath = values.config ?? 'lb.yaml';
  const detachedChild = process.env[DETACHED_ENV] === '1';
  const pidFile = values['pid-file'] ?? (values.daemon || detachedChild ? defaultPidFile(configPath) : undefined);

  if (values.daemon && !detachedChild) {
    const held = pidFile ? inspectPidFile(pidFile) : undefined;
    if (held?.kind === 'running') {
      io.err(`yalb: already running (pid ${held.pid}, ${pidFile}) (YALB_ERR_PID_FILE)`);
      return 1;
    }
    if (pidFile && held?.kind === 'unsure') {
      const e = unsureStartError(pidFile, held.pid, held.reason);
      io.err(`yalb: cannot start: ${e.message} (${e.code})`);
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

  // From here on a signal must not kill the process: createDaemon opens the
  // listener well before it returns (admin API, watcher, a reload check
  // follow), and a SIGTERM in that window must drain like any other.
  const startup = holdSignalsDuringStartup();
  let daemon: Daemon;
  try {
    if (pidFile) refuseHeldPidFile(pidFile);
    const created = createDaemon({ configPath, logFile: values['log-file'] });
    const first = await Promise.race([created, startup.forced]);
    if (typeof first === 'string') {
      // The daemon may still come up; the process exits before it serves.
      startup.release();
      created.catch(() => {});
      const message = `${first} again during start-up: exiting without waiting for it to finish`;
      if (!reportToParent({ ready: false, error: message })) io.err(`yalb: ${message}`);
      return 1;
    }
    daemon = first;
  } catch (err) {
    startup.release();
    return startFailed(err, io);
  }

  let seq = 0;
  let resolveExit: (code: number) => void = () => {};
  const exit = new Promise<number>((r) => { resolveExit = r; });
  const finish = (code: number) => {
    remove();
    if (pidFile) removePidFile(pidFile);
    resolveExit(code);
  };
  // The real handlers go in, and the start-up ones out, in the same tick:
  // no signal can fall between them. A SIGTERM that arrives while the pid
  // file is written drains too.
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
  const pending = startup.release();
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
  if (pending) {
    // Deliver it again, now to the real handlers: drain and exit 0, and a
    // second one still stops at once.
    daemon.log.info(`${pending} arrived during start-up`);
    process.kill(process.pid, pending);
  }
  return exit;
}

/**
 * refuseHeldPidFile throws YALB_ERR_PID_FILE when the pid file names the
 * running daemon ("already running …"), or a live pid that it cannot prove
 * to be the daemon. A missing or stale file is fine: writePidFile replaces it.
 */
function refuseHeldPidFile(pidFile: string): void {
  const held = inspectPidFile(pidFile);
  if (held.kind === 'running') throw new YalbError('YALB_ERR_PID_FILE', `already running (pid ${held.pid}, ${pidFile})`);
  if (held.kind === 'unsure') throw unsureStartError(pidFile, held.pid, held.reason);
}

/** StartupSignals is the signal policy while the daemon is being created. */
interface StartupSignals {
  /** forced resolves with the signal name when a second SIGTERM/SIGINT arrives during start-up. */
  forced: Promise<NodeJS.Signals>;
  /** release removes the start-up handlers and returns the first SIGTERM/SIGINT that arrived, if any. */
  release: () => NodeJS.Signals | undefined;
}

/**
 * holdSignalsDuringStartup installs the start-up signal policy: the first
 * SIGTERM or SIGINT is remembered, to drain once the daemon exists; a
 * second one ends the start-up at once (exit 1). SIGHUP would kill the
 * process and SIGUSR1 would open the inspector, so both are ignored until
 * the real handlers are in.
 */
function holdSignalsDuringStartup(): StartupSignals {
  let pending: NodeJS.Signals | undefined;
  let force: (signal: NodeJS.Signals) => void = () => {};
  const forced = new Promise<NodeJS.Signals>((r) => { force = r; });
  const stop = (signal: NodeJS.Signals) => {
    if (pending) force(signal);
    else pending = signal;
  };
  const ignore = () => {};
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', ignore);
  process.on('SIGUSR1', ignore);
  return {
    forced,
    release: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', ignore);
      process.off('SIGUSR1', ignore);
      return pending;
    },
  };
}

function startFailed(err: unknown, io: CommandIo): number {
  const message = isYalbError(err) ? `${err.message} (${err.code})` : (err as Error).message;
  if (!reportToParent({ ready: false, error: message })) io.err(`yalb: cannot start: ${message}`);
  if (isYalbError(err)) return 1;
  throw err;
}
