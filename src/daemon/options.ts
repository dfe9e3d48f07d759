/**
 * What a daemon is started with (createDaemon(opts)): the config file and
 * the knobs tests and embedders turn; everything else comes from lb.yaml.
 */
import type { Logger } from '../log/logger.js';
import type { ListenerOptions } from '../proxy/server.js';

/** DaemonOptions configure a daemon; only configPath is required. */
export interface DaemonOptions {
  configPath: string;
  /** log: the operational logger; by default one is created at the config's log.level. */
  log?: Logger;
  /** logStream: where the default logger writes (default stdout). */
  logStream?: NodeJS.WritableStream;
  /** logFile: write the default logger's lines to this file (--log-file); reopened by reopenLogs(). */
  logFile?: string;
  /** watch the config file for changes (default true). */
  watch?: boolean;
  watchDebounceMs?: number;
  watchPollMs?: number;
  listener?: ListenerOptions;
  /** drainMs bounds the wait for in-flight requests on stop (default 10 s). */
  drainMs?: number;
  now?: () => number;
  random?: () => number;
  /** processMetrics: include Node process metrics in /metrics (default true). */
  processMetrics?: boolean;
}
