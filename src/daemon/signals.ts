/**
 * Signal policy, in one place: SIGHUP reloads, SIGTERM and SIGINT drain and
 * stop, SIGUSR1 reopens log files. A second SIGTERM/SIGINT while draining
 * stops waiting. Returns a function that removes the handlers.
 */
import type { ReloadResult } from '../reload/reloader.js';
import type { Daemon } from './daemon.js';

/** SignalHooks let the caller (the CLI) hear what the signals did. */
export interface SignalHooks {
  /** stopped: the drain after SIGTERM/SIGINT is over. */
  stopped: (signal: string) => void;
  /** forced: a second SIGTERM/SIGINT arrived while draining. */
  forced: () => void;
  /** reloaded: a SIGHUP reload finished (applied, unchanged or failed). */
  reloaded?: (result: ReloadResult) => void;
}

/** installSignalHandlers maps process signals to daemon actions. */
export function installSignalHandlers(daemon: Daemon, hooks: SignalHooks): () => void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      daemon.log.warn(`${signal} again: stopping without waiting for the drain`);
      hooks.forced();
      return;
    }
    stopping = true;
    daemon.log.info(`${signal}: stopping (draining in-flight requests)`);
    void daemon.stop().then(() => hooks.stopped(signal));
  };
  const hup = () => {
    daemon.log.info('SIGHUP: reloading the config');
    void daemon.reload('SIGHUP')
      .then((r) => hooks.reloaded?.(r))
      .catch((err: unknown) => daemon.log.error(`SIGHUP: ${(err as Error).message}`));
  };
  const usr1 = () => {
    daemon.log.info('SIGUSR1: reopening log files');
    daemon.reopenLogs();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', hup);
  process.on('SIGUSR1', usr1);
  return () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', hup);
    process.off('SIGUSR1', usr1);
  };
}
