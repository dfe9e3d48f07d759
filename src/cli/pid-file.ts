/**
 * The pid file: written atomically (temp file + link), refused when it
 * names the live daemon, replaced when stale, removed on exit. Beside it,
 * the daemon keeps `<pid file>.id` (the identity of the process it names)
 * and `<pid file>.state` (JSON: the last reload result) so `yalb reload`
 * can report whether its SIGHUP was applied without an admin API.
 *
 * The pid file is one line, the bare pid, as systemd's PIDFile=, nginx and
 * HAProxy have it, so `kill -USR1 $(cat /run/yalb.pid)` keeps working:
 *
 *     4242
 *
 * The identity file says which process that pid was when it was written:
 *
 *     yalb pid=4242 start=1234567 boot=8f0c…
 *
 * its start time in clock ticks since boot (field 22 of /proc/PID/stat) and
 * the kernel's boot id. A pid is reused once its process is gone, but a
 * process started later has a later start time, and one in another boot has
 * another boot id, so "same pid, same start, same boot" is the daemon and
 * nothing else. A command line is no proof: `vim /etc/yalb/lb.yaml`
 * mentions yalb too. The daemon writes the identity file before it links
 * the pid file into place, so whoever sees the pid file finds its identity;
 * an identity file that is missing, unreadable or names another pid is no
 * identity at all.
 */
import { existsSync, linkSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { YalbError } from '../errors.js';

/** defaultPidFile is $XDG_RUNTIME_DIR/yalb.pid when that is set, else yalb.pid next to the config. */
export function defaultPidFile(configPath: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'yalb.pid');
  return path.join(path.dirname(path.resolve(configPath)), 'yalb.pid');
}

/** ProcessIdentity tells a process apart from a later one with the same pid. */
export interface ProcessIdentity {
  /** startTicks: field 22 of /proc/PID/stat, the start time in clock ticks since boot (digits). */
  startTicks: string;
  /** bootId: /proc/sys/kernel/random/boot_id, when the kernel has it. */
  bootId?: string | undefined;
}

/** PidFileRecord is what a pid file and its identity file say: the pid and, when the identity file names that pid, the identity of that process. */
export interface PidFileRecord {
  pid: number;
  identity: ProcessIdentity | undefined;
}

/** formatPidFile renders a pid file: the bare pid on one line. */
export function formatPidFile(pid: number): string {
  return `${pid}\n`;
}

/** parsePidFile reads a pid file's text; undefined when line 1 is not a pid. */
export function parsePidFile(text: string): number | undefined {
  const first = text.split('\n', 1)[0] ?? '';
  const pid = /^\s*\d+\s*$/.test(first) ? Number(first) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** identityFile is where the daemon records the identity of the process its pid file names, beside the pid file. */
export function identityFile(pidFile: string): string {
  return `${pidFile}.id`;
}

/** IdentityRecord is what an identity file says: the pid it was written for and, where /proc was readable, that process's identity. */
export interface IdentityRecord {
  pid: number;
  identity: ProcessIdentity | undefined;
}

/** formatIdentity renders an identity file: `yalb pid=<pid> start=<ticks> boot=<id>` (only `yalb pid=<pid>` when the identity is unknown). */
export function formatIdentity(pid: number, identity: ProcessIdentity | undefined): string {
  const fields = identity ? [`start=${identity.startTicks}`, ...(identity.bootId ? [`boot=${identity.bootId}`] : [])] : [];
  return `${['yalb', `pid=${pid}`, ...fields].join(' ')}\n`;
}

/** parseIdentity reads an identity file's text; undefined when it is not one (no `yalb` word, or no valid pid). */
export function parseIdentity(text: string): IdentityRecord | undefined {
  const words = (text.split('\n', 1)[0] ?? '').trim().split(/\s+/);
  if (words[0] !== 'yalb') return undefined;
  const field = (name: string) => words.find((w) => w.startsWith(`${name}=`))?.slice(name.length + 1);
  const pidText = field('pid');
  const pid = pidText !== undefined && /^\d+$/.test(pidText) ? Number(pidText) : NaN;
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const startTicks = field('start');
  const identity = startTicks !== undefined && /^\d+$/.test(startTicks) ? { startTicks, bootId: field('boot') || undefined } : undefined;
  return { pid, identity };
}

/** readIdentity reads the identity file beside `pidFile`; undefined when it is missing, unreadable or not an identity file. */
export function readIdentity(pidFile: string): IdentityRecord | undefined {
  try {
    return parseIdentity(readFileSync(identityFile(pidFile), 'utf8'));
  } catch {
    return undefined;
  }
}

/** identityOf returns the recorded identity of `pid`: undefined unless the identity file beside `pidFile` was written for that very pid. */
function identityOf(pidFile: string, pid: number): ProcessIdentity | undefined {
  const record = readIdentity(pidFile);
  return record?.pid === pid ? record.identity : undefined;
}

/** readPid returns the pid on line 1 of a pid file, or undefined when the file is missing or line 1 is not a pid. */
export function readPid(file: string): number | undefined {
  try {
    return parsePidFile(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** ProcStat is what /proc/PID/stat says about a process. */
interface ProcStat {
  /** state: R, S, D, Z (zombie), X (dead), … */
  state: string;
  startTicks: string;
}

/**
 * procStat reads /proc/PID/stat. The command name (field 2) is in
 * parentheses and may itself hold spaces and ')', so the fields are counted
 * from the last ')': state is field 3, the start time field 22.
 * Undefined when the file cannot be read (no such process, or no /proc).
 */
function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (!state || !startTicks || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** processIdentity returns the identity of a live process, or undefined where there is no /proc to read it from. */
export function processIdentity(pid = process.pid): ProcessIdentity | undefined {
  const stat = procStat(pid);
  return stat ? { startTicks: stat.startTicks, bootId: readBootId() } : undefined;
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
  const state = procStat(pid)?.state;
  return state !== 'Z' && state !== 'X'; // no /proc: trust signal 0
}

/**
 * PidFileStatus is what a pid file is worth:
 * - `absent`: no file, or line 1 is not a pid;
 * - `unreadable`: the file exists but cannot be read (`reason`);
 * - `stale`: its process is gone, or (`reason` says so) the pid now belongs to another process;
 * - `running`: the process it names is alive and has the recorded identity;
 * - `unsure`: the pid is alive but nothing proves it is the daemon (`reason`):
 *   its identity file is missing, unreadable or names another pid, or this
 *   system has no /proc.
 */
export type PidFileStatus =
  | { kind: 'absent' }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'stale'; pid: number; reason?: string }
  | { kind: 'running'; pid: number; identity: ProcessIdentity }
  | { kind: 'unsure'; pid: number; reason: string };

/** inspectPidFile reads a pid file and its identity file and decides, by pid and identity, whether it names the running daemon. */
export function inspectPidFile(file: string): PidFileStatus {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unreadable', reason: code ?? (err as Error).message };
  }
  const pid = parsePidFile(text);
  return pid === undefined ? { kind: 'absent' } : pidStatus({ pid, identity: identityOf(file, pid) }, file);
}

/**
 * pidStatus decides whether a record names a live process with the recorded
 * identity; `pidFile`, when given, is named in the reason for a missing identity.
 */
export function pidStatus({ pid, identity }: PidFileRecord, pidFile?: string): PidFileStatus {
  if (!isAlive(pid)) return { kind: 'stale', pid };
  const stat = procStat(pid);
  if (!stat) {
    // The process may have exited between the two reads; else there is no /proc.
    if (!isAlive(pid)) return { kind: 'stale', pid };
    return { kind: 'unsure', pid, reason: `its start time cannot be read from /proc/${pid}/stat (no /proc on this system, or no access to it)` };
  }
  if (!identity) {
    const reason = pidFile ? `its identity file ${identityFile(pidFile)} is missing or does not match` : 'no identity was recorded for it';
    return { kind: 'unsure', pid, reason };
  }
  if (stat.startTicks !== identity.startTicks) {
    return { kind: 'stale', pid, reason: `pid ${pid} is now another process, started at tick ${stat.startTicks}, not ${identity.startTicks}` };
  }
  const bootId = readBootId();
  if (identity.bootId && bootId && identity.bootId !== bootId) {
    return { kind: 'stale', pid, reason: `pid ${pid} is now another process, from another boot` };
  }
  return { kind: 'running', pid, identity };
}

/** isSameProcess tells whether `pid` is still alive and still the process with `identity` (not a later one that reuses the pid). */
export function isSameProcess(pid: number, identity: ProcessIdentity): boolean {
  return pidStatus({ pid, identity }).kind === 'running';
}

/** unsureMessage says that a pid file names a live pid and why that pid cannot be trusted to be the daemon. */
export function unsureMessage(file: string, pid: number, reason: string): string {
  return `${file} names pid ${pid}, which is running, but ${reason}, so it cannot be told apart from another program that reuses the pid`;
}

/**
 * refuseHeld throws YALB_ERR_PID_FILE when the pid file names another
 * running daemon, or another live pid that cannot be identified.
 */
function refuseHeld(file: string, held: PidFileStatus, pid: number): void {
  if (held.kind === 'running' && held.pid !== pid) {
    throw new YalbError('YALB_ERR_PID_FILE', `${file} names a running yalb (pid ${held.pid}); stop it first or use another --pid-file`);
  }
  if (held.kind === 'unsure' && held.pid !== pid) throw unsureStartError(file, held.pid, held.reason);
}

/**
 * writePidFile writes `pid` to the pid file and its identity to the identity
 * file, each atomically, the identity first. Throws YALB_ERR_PID_FILE when
 * the files name another running daemon, or a live pid that cannot be
 * identified; stale files are replaced.
 *
 * Both files are put in place with link(), which fails when the file
 * exists, so two daemons starting at once cannot both win: the identity
 * file is taken first, and one that names a live process with that identity
 * belongs to another yalb (starting, or running). A stale one (its process
 * is gone or is another process) is removed first, and so is a stale pid
 * file, by the same test as `yalb stop` uses.
 */
export function writePidFile(file: string, pid = process.pid): void {
  const idFile = identityFile(file);
  const tmp = `${file}.${pid}.tmp`;
  const idTmp = `${idFile}.${pid}.tmp`;
  let ownIdentity = false;
  try {
    writeFileSync(tmp, formatPidFile(pid), { mode: 0o644 });
    writeFileSync(idTmp, formatIdentity(pid, processIdentity(pid)), { mode: 0o644 });
    // Judge the files as they are, before anything is touched.
    const held = inspectPidFile(file);
    refuseHeld(file, held, pid);
    // A stale pid file goes first, so that no reader pairs its pid with the new identity.
    if (held.kind !== 'absent' && held.kind !== 'unreadable' && readPid(file) === held.pid) rmSync(file, { force: true });

    for (let tries = 0; ; tries++) {
      try {
        linkSync(idTmp, idFile);
        ownIdentity = true;
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
        const owner = readIdentity(file);
        if (owner && owner.pid !== pid && owner.identity && isSameProcess(owner.pid, owner.identity)) {
          throw new YalbError('YALB_ERR_PID_FILE', `${idFile} names a running yalb (pid ${owner.pid}); stop it first or use another --pid-file`);
        }
        rmSync(idFile, { force: true });
      }
    }

    for (let tries = 0; ; tries++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
        // A pid file judged stale above is replaced as it is (judged now,
        // against our identity file, a recycled pid would look unsure); any
        // other (garbage, unreadable, or one that appeared since) is judged again.
        if (held.kind !== 'stale' || readPid(file) !== held.pid) refuseHeld(file, inspectPidFile(file), pid);
        rmSync(file, { force: true });
      }
    }
  } catch (err) {
    if (ownIdentity && readIdentity(file)?.pid === pid) rmSync(idFile, { force: true });
    if (err instanceof YalbError) throw err;
    throw new YalbError('YALB_ERR_PID_FILE', `cannot write pid file ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { force: true });
    rmSync(idTmp, { force: true });
  }
}

/** unsureStartError is the YALB_ERR_PID_FILE that `yalb start` throws when a pid file names a live pid it cannot identify. */
export function unsureStartError(file: string, pid: number, reason: string): YalbError {
  return new YalbError('YALB_ERR_PID_FILE', `${unsureMessage(file, pid, reason)}. Check it with \`ps -p ${pid} -o pid,lstart,args\`: if it is yalb, stop it with \`kill ${pid}\`; if not, remove ${file}`);
}

/**
 * removePidFile removes the pid file and its identity file if the pid file
 * still names `pid` (the identity file only if it names `pid` too), and the
 * state file. The pid file goes first: no reader sees it without its identity.
 */
export function removePidFile(file: string, pid = process.pid): void {
  if (readPid(file) === pid) {
    rmSync(file, { force: true });
    if (readIdentity(file)?.pid === pid) rmSync(identityFile(file), { force: true });
  }
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

/**
 * listenerInodes returns the socket inodes listening on TCP `port` in this
 * process's network namespace (/proc/net/tcp and tcp6, state 0A = LISTEN);
 * undefined without /proc.
 */
function listenerInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let read = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== '0A') continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  return read ? inodes : undefined;
}

/**
 * holdsListener tells whether process `pid` holds a socket listening on TCP
 * `port` of this machine: true, false, or a reason why it cannot be told
 * (no /proc, or the process's file descriptors are not ours to read). It is
 * how `yalb stop` proves that the pid an admin API reports is the process
 * behind that API on this machine, not a pid of another pid namespace (a
 * container publishing the port) that means some other process here.
 */
export function holdsListener(pid: number, port: number): boolean | string {
  const inodes = listenerInodes(port);
  if (!inodes) return 'no /proc/net/tcp on this system';
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? false : `its open files cannot be read (/proc/${pid}/fd: ${code ?? (err as Error).message}; run as the daemon's user or root)`;
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1] as string)) return true;
  }
  return false;
}
