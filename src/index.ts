/**
 * yalb's programmatic API: start a daemon from code, or load and validate a
 * config file. See examples/programmatic.ts.
 */
export { createDaemon, Daemon, type DaemonOptions, type Generation } from './daemon/daemon.js';
export { loadConfig, parseConfigText, formatIssue, type ConfigIssue, type LoadResult } from './config/load.js';
export { LbConfigSchema, type LbConfig, type LbConfigInput } from './config/schema.js';
export { createLogger, type Logger } from './log/logger.js';
export { YalbError, ErrorCodes, type ErrorCode } from './errors.js';
