/**
 * `yalb stop`: SIGTERM to the running daemon, then wait (bounded) until it
 * has drained and exited. The daemon is found through its pid file, or
 * through its admin API: the pid from GET /status, signalled only once it
 * is proven to be the local process that holds the admin API's listening
 * socket (a pid read over HTTP may belong to another pid namespace, such as
 * a container that publishes the port).
 */
import { type AdminEndpoint, AdminUnreachable, adminRequest, describeRefusal } from '../admin-client.js';
import { type ControlCommand, parseControl, targetFromPidFile, waitUntil } from '../control.js';
import type { CommandIo } from '../io.js';
import { holdsListener, isSameProcess, processIdentity, type ProcessIdentity } from '../pid-file.js';

/** usage is the help text of `yalb stop`. */
export const usage = `Usage: yalb stop [-c FILE] [--admin ADDR | --pid-file FILE] [--timeout SECONDS]

Stop the running daemon: it stops accepting, lets in-flight requests finish
(up to 10 s), and exits; this waits for that and reports.

The daemon is found as by yalb reload: through its admin API (--admin
ADDR, or admin.listen of the config file: the pid from GET /status, on this
machine only), else through the pid file.

Options:
  -c, --config FILE     the daemon's config file (default: ./lb.yaml)
      --admin ADDR      the daemon's admin API, host:port (e.g. 127.0.0.1:9090)
      --pid-file FILE   pid file of the daemon
      --timeout SECONDS how long to wait for the exit (default: 20)
  -h, --help            show this help

Examples:
  yalb stop -c /etc/yalb/lb.yaml
  yalb stop --pid-file /run/yalb.pid`;

const command: ControlCommand = { name: 'stop', killOption: '', usage, defaultTimeoutS: 20 };

/** runStop runs `yalb stop` and returns the exit code. */
export async function runStop(args: string[], io: CommandIo): Promise<number> {
  const route = parseControl(command, args, io);
  if (typeof route === 'number') return route;
  if (route.via === 'pid-file') {
    const target = targetFromPidFile(command, route.pidFile, route.timeoutMs, io, route.adminReason);
    if (typeof target === 'number') return target;
    return signalAndWait(target.pid, target.identity, target.timeoutMs, io);
  }
  const ep = route.endpoint;
  let answer;
  try {
    answer = await adminRequest(ep, 'GET', '/status');
  } catch (err) {
    const why = `no daemon answers at ${ep.base} (admin API from ${ep.from}): ${(err as Error).message}`;
    if (err instanceof AdminUnreachable && err.refused && route.fallbackPidFile) {
      const target = targetFromPidFile(command, route.fallbackPidFile, route.timeoutMs, io, why);
      if (typeof target === 'number') return target;
      return signalAndWait(target.pid, target.identity, target.timeoutMs, io);
    }
    io.err(`yalb: ${why} (YALB_ERR_NOT_RUNNING)`);
    return 1;
  }
  if (answer.status !== 200) {
    io.err(`yalb: ${describeRefusal(ep, '/status', answer)}`);
    return 1;
  }
  let pid: unknown;
  try {
    pid = (JSON.parse(answer.body) as { pid?: unknown }).pid;
  } catch {
    // described below
  }
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) {
    io.err(`yalb: ${ep.base}/status names no pid (YALB_ERR_ADMIN)`);
    return 1;
  }
  const identity = provenIdentity(ep, pid, io);
  if (!identity) return 1;
  return signalAndWait(pid, identity, route.timeoutMs, io);
}

/**
 * provenIdentity returns the identity of `pid` once it is proven to be the
 * process behind the admin API: it holds the listening socket of that port
 * here, and was the same process before and after that was checked. Prints
 * why not (YALB_ERR_UNIDENTIFIED, nothing signalled) and returns undefined
 * otherwise.
 */
function provenIdentity(ep: AdminEndpoint, pid: number, io: CommandIo): ProcessIdentity | undefined {
  const refuse = (why: string) => {
    io.err(`yalb: the admin API at ${ep.base} reports pid ${pid}, but ${why}; nothing was sent (YALB_ERR_UNIDENTIFIED)`);
    return undefined;
  };
  if (!ep.local) return refuse(`${ep.base} is not an address of this machine: stop the daemon where it runs`);
  const identity = processIdentity(pid);
  if (!identity) return refuse(`no process ${pid} can be read here (another pid namespace, such as a container?)`);
  const held = holdsListener(pid, ep.port);
  if (held === false) return refuse(`process ${pid} here does not hold port ${ep.port} (another pid namespace, such as a container?)`);
  if (held !== true) return refuse(`it cannot be checked that process ${pid} holds port ${ep.port}: ${held}. If it is yalb, stop it with \`kill ${pid}\``);
  if (!isSameProcess(pid, identity)) return refuse(`process ${pid} exited meanwhile`);
  return identity;
}

/** signalAndWait sends SIGTERM and waits (bounded) until no live process has this pid and start time. */
async function signalAndWait(pid: number, identity: ProcessIdentity, timeoutMs: number, io: CommandIo): Promise<number> {
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
