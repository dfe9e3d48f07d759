/**
 * What `yalb reload` and `yalb stop` share: their options, and finding the
 * running daemon through its pid file.
 */
import { parseArgs } from 'node:util';
import { badUsage, type CommandIo } from './io.js';
import { defaultPidFile, livePid } from './pid-file.js';

/** ControlTarget is the daemon a control command acts on. */
export interface ControlTarget {
  pid: number;
  pidFile: string;
  timeoutMs: number;
}

/**
 * parseControl parses `[-c FILE] [--pid-file FILE] [--timeout SECONDS] [--help]`
 * and finds the daemon. Returns the target, or the exit code to return
 * (0 after --help, 1 when no daemon runs, 2 on bad usage).
 */
export function parseControl(name: string, args: string[], io: CommandIo, usage: string, defaultTimeoutS: number): ControlTarget | number {
  let values;
  try {
    ({ values } = parseArgs({
      args, strict: true, allowPositionals: false,
      options: { config: { type: 'string', short: 'c' }, 'pid-file': { type: 'string' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return badUsage(io, `${name}: ${(err as Error).message}`, usage);
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const timeoutS = Number(values.timeout ?? defaultTimeoutS);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) return badUsage(io, `${name}: --timeout takes a number of seconds`, usage);
  const pidFile = values['pid-file'] ?? defaultPidFile(values.config ?? 'lb.yaml');
  const pid = livePid(pidFile);
  if (pid === undefined) {
    io.err(`yalb: no running daemon (pid file ${pidFile}) (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  return { pid, pidFile, timeoutMs: timeoutS * 1000 };
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
