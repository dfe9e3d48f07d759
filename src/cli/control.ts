/**
 * What `yalb reload` and `yalb stop` share: their options, and finding the
 * running daemon through its pid file (by pid and recorded identity, never
 * by a pid alone).
 */
import { configOption, parseCommand } from './args.js';
import { badUsage, type CommandIo } from './io.js';
import { defaultPidFile, inspectPidFile, type ProcessIdentity, unsureMessage } from './pid-file.js';

/** ControlTarget is the daemon a control command acts on. */
export interface ControlTarget {
  pid: number;
  /** identity: the daemon's start time (and boot), to tell it apart from a later process with the same pid. */
  identity: ProcessIdentity;
  pidFile: string;
  timeoutMs: number;
}

/** ControlCommand names a control command and what it would do by hand: `stop` → `kill PID`, `reload` → `kill -HUP PID`. */
export interface ControlCommand {
  name: 'stop' | 'reload';
  /** killOption: the `kill` option that does the same by hand ('' for SIGTERM). */
  killOption: string;
  usage: string;
  defaultTimeoutS: number;
}

const controlOptions = { ...configOption, 'pid-file': { type: 'string' }, timeout: { type: 'string' } } as const;

/**
 * parseControl parses `[-c FILE] [--pid-file FILE] [--timeout SECONDS] [--help]`
 * and finds the daemon. Returns the target, or the exit code to return:
 * 0 after --help, 2 on bad usage, 1 when no daemon runs (YALB_ERR_NOT_RUNNING:
 * no pid file, its process is gone, or its pid is now another process) or
 * when the pid file cannot prove that its live pid is the daemon
 * (YALB_ERR_PID_FILE: its identity file is missing or names another pid, no
 * /proc, unreadable file); then nothing is signalled and the message says
 * how to check and act by hand.
 */
export function parseControl(cmd: ControlCommand, args: string[], io: CommandIo): ControlTarget | number {
  const { name, usage } = cmd;
  const values = parseCommand(name, args, io, usage, controlOptions);
  if (typeof values === 'number') return values;
  const timeoutS = Number(values.timeout ?? cmd.defaultTimeoutS);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) return badUsage(io, `${name}: --timeout takes a number of seconds`, usage);
  const pidFile = values['pid-file'] ?? defaultPidFile(values.config ?? 'lb.yaml');
  const found = inspectPidFile(pidFile);
  switch (found.kind) {
    case 'running':
      return { pid: found.pid, identity: found.identity, pidFile, timeoutMs: timeoutS * 1000 };
    case 'absent':
    case 'stale':
      io.err(`yalb: no running daemon (pid file ${pidFile}${found.kind === 'stale' && found.reason ? `: ${found.reason}` : ''}) (YALB_ERR_NOT_RUNNING)`);
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
