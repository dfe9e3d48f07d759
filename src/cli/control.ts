/**
 * What `yalb reload` and `yalb stop` share: their options, and finding the
 * running daemon, either through its admin API (`--admin ADDR`, or
 * admin.listen in the config) or through its pid file (by pid and recorded
 * identity, never by a pid alone).
 *
 * Which way: `--admin` asks that address only; `--pid-file` alone uses that
 * pid file only; otherwise the admin API of the config (`-c`, default
 * ./lb.yaml) is asked first, and the pid file (given, or the default one)
 * is the fallback when the config names no admin API or nothing listens
 * there.
 */
import { type AdminEndpoint, adminFromConfig, adminFromFlag } from './admin-client.js';
import { configOption, parseCommand } from './args.js';
import { badUsage, type CommandIo } from './io.js';
import { defaultPidFile, inspectPidFile, type ProcessIdentity, unsureMessage } from './pid-file.js';

/** ControlTarget is the daemon a control command acts on, found through a pid file. */
export interface ControlTarget {
  pid: number;
  /** identity: the daemon's start time (and boot), to tell it apart from a later process with the same pid. */
  identity: ProcessIdentity;
  pidFile: string;
  timeoutMs: number;
}

/**
 * ControlRoute is how a control command reaches the daemon: its admin API
 * (with the pid file to fall back on when nothing listens there), or a pid file.
 */
export type ControlRoute =
  | { via: 'admin'; endpoint: AdminEndpoint; fallbackPidFile: string | undefined; timeoutMs: number }
  | { via: 'pid-file'; pidFile: string; timeoutMs: number; adminReason?: string };

/** ControlCommand names a control command and what it would do by hand: `stop` → `kill PID`, `reload` → `kill -HUP PID`. */
export interface ControlCommand {
  name: 'stop' | 'reload';
  /** killOption: the `kill` option that does the same by hand ('' for SIGTERM). */
  killOption: string;
  usage: string;
  defaultTimeoutS: number;
}

const controlOptions = { ...configOption, 'pid-file': { type: 'string' }, admin: { type: 'string' }, timeout: { type: 'string' } } as const;

/**
 * parseControl parses `[-c FILE] [--pid-file FILE] [--admin ADDR]
 * [--timeout SECONDS] [--help]` and picks the route to the daemon (see the
 * file comment). Returns the route, or the exit code to return: 0 after
 * --help, 2 on bad usage.
 */
export function parseControl(cmd: ControlCommand, args: string[], io: CommandIo, env: NodeJS.ProcessEnv = process.env): ControlRoute | number {
  const { name, usage } = cmd;
  const values = parseCommand(name, args, io, usage, controlOptions);
  if (typeof values === 'number') return values;
  const timeoutS = Number(values.timeout ?? cmd.defaultTimeoutS);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) return badUsage(io, `${name}: --timeout takes a number of seconds`, usage);
  const timeoutMs = timeoutS * 1000;
  const configFile = values.config ?? 'lb.yaml';
  if (values.admin !== undefined) {
    if (values['pid-file'] !== undefined) return badUsage(io, `${name}: give --admin or --pid-file, not both`, usage);
    const endpoint = adminFromFlag(values.admin, configFile, env);
    if (typeof endpoint === 'string') return badUsage(io, `${name}: ${endpoint}`, usage);
    return { via: 'admin', endpoint, fallbackPidFile: undefined, timeoutMs };
  }
  const pidFile = values['pid-file'] ?? defaultPidFile(configFile, env);
  if (values['pid-file'] !== undefined && values.config === undefined) return { via: 'pid-file', pidFile, timeoutMs };
  const found = adminFromConfig(configFile, env);
  if (found.endpoint) return { via: 'admin', endpoint: found.endpoint, fallbackPidFile: pidFile, timeoutMs };
  return { via: 'pid-file', pidFile, timeoutMs, adminReason: found.reason };
}

/**
 * targetFromPidFile finds the daemon through its pid file. Returns the
 * target, or 1 when no daemon runs (YALB_ERR_NOT_RUNNING: no pid file, its
 * process is gone, or its pid is now another process) or when the pid file
 * cannot prove that its live pid is the daemon (YALB_ERR_PID_FILE: its
 * identity file is missing or names another pid, no /proc, unreadable
 * file); then nothing is signalled and the message says how to check and
 * act by hand. `why`, when given, says why the admin API was not used.
 */
export function targetFromPidFile(cmd: ControlCommand, pidFile: string, timeoutMs: number, io: CommandIo, why?: string): ControlTarget | number {
  const { name } = cmd;
  const found = inspectPidFile(pidFile);
  switch (found.kind) {
    case 'running':
      return { pid: found.pid, identity: found.identity, pidFile, timeoutMs };
    case 'absent':
    case 'stale':
      io.err(`yalb: no running daemon (${why ? `${why}; ` : ''}pid file ${pidFile}${found.kind === 'stale' && found.reason ? `: ${found.reason}` : ''}) (YALB_ERR_NOT_RUNNING)`);
      return 1;
    case 'unreadable':
      io.err(`yalb: cannot read pid file ${pidFile}: ${found.reason} (YALB_ERR_PID_FILE)`);
      return 1;
    case 'unsure': {
      const kill = `kill ${cmd.killOption ? `${cmd.killOption} ` : ''}${found.pid}`;
      io.err(`yalb: pid file ${unsureMessage(pidFile, found.pid, found.reason)}; nothing was sent. `
        + `Check it with \`ps -p ${found.pid} -o pid,lstart,args\` and, if it is yalb, ${name} it with \`${kill}\` (YALB_ERR_PID_FILE)`);
      return 1;
    }
  }
}

/** waitUntil polls `fn` every 50 ms until it returns a value or `ms` pass. */
export async function waitUntil<T>(fn: () => T | undefined, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
