/**
 * The pid file: written atomically (temp file + rename), refused when it
 * names a live yalb, replaced when stale, removed on exit. Next to it, the
 * daemon keeps `<pid file>.state` (JSON: the last reload result) so
 * `yalb reload` can report whether its SIGHUP was applied without an admin API.
 */
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { YalbError } from '../errors.js';

/** defaultPidFile is $XDG_RUNTIME_DIR/yalb.pid when that is set, else yalb.pid next to the config. */
export function defaultPidFile(configPath: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'yalb.pid');
  return path.join(path.dirname(path.resolve(configPath)), 'yalb.pid');
}

/** readPid returns the pid in a pid file, or undefined when it is missing or not a pid. */
export function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * isAlive tells whether a process with this pid exists (signal 0) and is not
 * a zombie (an exited daemon whose reaper has not collected it yet).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust signal 0
  }
}

/** isYalb tells whether a live pid looks like a yalb process (its command line names yalb or its cli.js). */
export function isYalb(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /yalb|dist\/cli\.js/.test(cmd);
  } catch {
    return isAlive(pid); // no /proc: trust the pid
  }
}

/** livePid returns the pid of the running yalb named by a pid file, or undefined. */
export function livePid(file: string): number | undefined {
  const pid = readPid(file);
  return pid !== undefined && pid !== process.pid && isAlive(pid) && isYalb(pid) ? pid : undefined;
}

/**
 * writePidFile writes `pid` atomically. Throws YALB_ERR_PID_FILE when the
 * file names another live yalb; a stale file is replaced.
 */
export function writePidFile(file: string, pid = process.pid): void {
  const tmp = `${file}.${pid}.tmp`;
  try {
    writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
    // link() fails when the file exists, so two daemons starting at once
    // cannot both win; a stale file (its pid is not a live yalb) is removed first.
    for (let tries = 0; ; tries++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
        const other = livePid(file);
        if (other !== undefined && other !== pid) {
          throw new YalbError('YALB_ERR_PID_FILE', `${file} names a running yalb (pid ${other}); stop it first or use another --pid-file`);
        }
        rmSync(file, { force: true });
      }
    }
  } catch (err) {
    if (err instanceof YalbError) throw err;
    throw new YalbError('YALB_ERR_PID_FILE', `cannot write pid file ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** removePidFile removes the pid file (and its state file) if it still names `pid`. */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPid(file) === pid) rmSync(file, { force: true });
  rmSync(stateFile(file), { force: true });
}

/** stateFile is where the daemon writes its last reload result, beside the pid file. */
export function stateFile(pidFile: string): string {
  return `${pidFile}.state`;
}

/** writeState writes the daemon's last reload result atomically. */
export function writeState(pidFile: string, state: unknown): void {
  const file = stateFile(pidFile);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}

/** readState reads the daemon's last reload result, or undefined. */
export function readState(pidFile: string): { seq: number; lastReload?: { ok: boolean; at: string; errors?: string[]; changes?: string[] } } | undefined {
  const file = stateFile(pidFile);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
