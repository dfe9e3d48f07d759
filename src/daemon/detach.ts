/**
 * --daemon: respawn the CLI as a detached child (its own session, no
 * terminal, stdin closed, stdout/stderr to the log file or nowhere, so a
 * caller that captures stdout is not held open), then wait until the child
 * says it is listening, or failed, over a one-shot IPC channel.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { YalbError } from '../errors.js';

/** DETACHED_ENV marks the child so it reports readiness instead of detaching again. */
export const DETACHED_ENV = 'YALB_DETACHED';

/** ChildMessage is what the detached child sends once. */
export type ChildMessage = { ready: true; pid: number } | { ready: false; error: string };

/**
 * spawnDetached starts `node cliPath args…` detached and resolves with its pid
 * once it is ready; rejects with the child's startup error.
 */
export function spawnDetached(cliPath: string, args: string[], logFile: string | undefined, timeoutMs = 60_000): Promise<number> {
  const out = logFile ? openSync(logFile, 'a', 0o640) : 'ignore';
  const child = spawn(process.execPath, [cliPath, ...args], {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env: { ...process.env, [DETACHED_ENV]: '1' },
  });
  if (typeof out === 'number') closeSync(out);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      child.kill('SIGTERM');
      reject(new YalbError('YALB_ERR_NOT_RUNNING', `the daemon did not become ready within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) child.disconnect();
      child.unref();
    };
    child.once('message', (m: ChildMessage) => {
      done();
      if (m.ready) resolve(m.pid);
      else reject(new YalbError('YALB_ERR_NOT_RUNNING', m.error));
    });
    child.once('exit', (code) => {
      done();
      reject(new YalbError('YALB_ERR_NOT_RUNNING', `the daemon exited with code ${code} before it was ready${logFile ? ` (see ${logFile})` : ''}`));
    });
    child.once('error', (err) => {
      done();
      reject(new YalbError('YALB_ERR_NOT_RUNNING', `cannot start the daemon: ${err.message}`));
    });
  });
}

/** reportToParent sends the readiness message when this process is a detached child; returns whether it was one. */
export function reportToParent(msg: ChildMessage): boolean {
  if (!process.env[DETACHED_ENV] || !process.send) return false;
  process.send(msg, () => {
    if (process.connected) process.disconnect();
  });
  return true;
}
