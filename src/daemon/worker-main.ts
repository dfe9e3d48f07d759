/**
 * The entry point of a cluster worker process (forked by the primary,
 * daemon/primary.ts): wire the worker to this process's IPC channel.
 */
import type { Socket } from 'node:net';
import type { Channel } from './worker.js';
import { ipcLogger, Worker } from './worker.js';
import { newViaToken } from '../proxy/handle-request.js';
import { type ToPrimary, type ToWorker, WORKER_ID_ENV, WORKER_VIA_ENV } from './ipc.js';

const channel: Channel = {
  // After the primary is gone the channel is closed: a late message is dropped, never a crash.
  send: (msg: ToPrimary) => {
    // The callback takes a write error (the primary died meanwhile) instead of an unhandled 'error'.
    if (process.connected) process.send?.(msg, undefined, {}, () => {});
  },
  on: ((event: 'message' | 'disconnect', fn: (msg: ToWorker, handle?: Socket) => void) => process.on(event, fn)) as Channel['on'],
};

// Signals are the primary's: Ctrl-C in a terminal reaches the whole process
// group, and the primary drains the workers itself. SIGTERM sent to a worker
// alone drains it (the primary then replaces it).
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGUSR1', () => {});

const log = ipcLogger(channel);
const exit = () => process.exit(0);
const worker = new Worker(Number(process.env[WORKER_ID_ENV] ?? 0), process.env[WORKER_VIA_ENV] ?? newViaToken(), channel, log, exit);
process.on('SIGTERM', () => void worker.stop(10_000).then(exit));
worker.listen();
