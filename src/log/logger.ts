/**
 * The operational logger (reloads, health changes, errors): winston, created
 * by the daemon and passed down; never an exported instance. Human-readable
 * on a TTY, JSON lines otherwise. Proxied requests never call it on the
 * default path (access lines go through the access log, see access-log.ts).
 */
import winston from 'winston';
import { colorWanted } from './color.js';

/** Logger is the logging interface every part receives as a parameter. */
export type Logger = winston.Logger;

/** LoggerOptions choose the level, the format and where lines go. */
export interface LoggerOptions {
  level?: 'error' | 'warn' | 'info' | 'debug';
  /** format: 'pretty' (for a terminal, coloured unless NO_COLOR) or 'json' (one object per line). Default: pretty on a TTY. */
  format?: 'pretty' | 'json';
  /** stream to write to instead of stdout (tests, --log-file). */
  stream?: NodeJS.WritableStream;
  /** silent drops every line (tests that do not read logs). */
  silent?: boolean;
}

/** createLogger returns a new winston logger; each call is independent. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stdout;
  const isTty = (stream as { isTTY?: boolean }).isTTY === true;
  const format = opts.format ?? (isTty ? 'pretty' : 'json');
  // NO_COLOR drops the colour only; the pretty layout stays (https://no-color.org).
  const colour = colorWanted(stream as { isTTY?: boolean });
  const { combine, timestamp, json, printf, colorize, errors } = winston.format;
  const fmt = format === 'json'
    ? combine(timestamp(), errors({ stack: true }), json())
    : combine(
      timestamp({ format: 'HH:mm:ss.SSS' }),
      errors({ stack: true }),
      ...(colour ? [colorize()] : []),
      printf(({ level, message, timestamp: ts, component, ...rest }) => {
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        return `${String(ts)} ${level}${component ? ` [${String(component)}]` : ''} ${String(message)}${extra}`;
      }),
    );
  return winston.createLogger({
    level: opts.level ?? 'info',
    silent: opts.silent ?? false,
    format: fmt,
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** closeLogger flushes and ends a logger; resolves once its transports finished. */
export function closeLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 1000);
    t.unref();
    log.on('finish', () => { clearTimeout(t); resolve(); });
    log.end();
  });
}
