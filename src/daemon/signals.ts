/**
 * Signal policy, in one place: SIGHUP reloads, SIGTERM and SIGINT drain and
 * stop, SIGUSR1 reopens log files. A second SIGTERM/SIGINT while draining
 * stops waiting. Returns a function that removes the handlers.
 */
import type { Daemon } from './daemon.js';

/** installSignalHandlers maps process signals to daemon actions; `onStopped` hears when the drain is over. */
export function installSignalHandlers(daemon: Daemon, onStopped: (signal: string) => void, onForced: () => void): () => void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      daemon.log.warn(`${signal} again: stopping without waiting for the drain`);
      onForced();
      return;
    }
    stopping = true;
    daemon.log.info(`${signal}: stopping (draining in-flight requests)`);
    void daemon.stop().then(() => onStopped(signal));
  };
  const hup = () => {
    void daemon.reload('SIGHUP');
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
