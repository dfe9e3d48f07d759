/**
 * The operational logger (reloads, health changes, errors): winston, created
 * by the daemon and passed down; never an exported instance. Human-readable
 * on a TTY, JSON lines otherwise. Proxied requests never call it on the
 * default path (access lines go through the access log, see access-log.ts).
 *
 * A JSON line is one event: `time`, `level`, `log: "yalb"` (access lines
 * say `"log":"access"`, with the same `time`), `msg`, then the event's
 * facts as fields (`backend`, `state`, `reason`, `generation`, `file`,
 * `line`…), never only inside the text. JSON escapes newlines, so a line
 * is always one line. When stdout or stderr is connected to the journal
 * (JOURNAL_STREAM names it, sd-daemon(3)), each line starts with its
 * syslog priority (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug), which
 * journald strips and stores as the entry's priority.
 */
import { fstatSync } from 'node:fs';
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
  /** journald: prefix each line with its syslog priority. Default: when the stream is the one JOURNAL_STREAM names. */
  journald?: boolean;
}

/** PRIORITY is the syslog priority of each level (sd-daemon(3) prefixes). */
const PRIORITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/**
 * connectedToJournal tells whether `stream` (stdout or stderr) is the
 * journal's stream: JOURNAL_STREAM holds "device:inode" of it, compared
 * with the stream's file descriptor, as sd-daemon(3) advises (a child
 * whose output was redirected elsewhere inherits the variable).
 */
export function connectedToJournal(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  const want = env.JOURNAL_STREAM;
  const fd = (stream as { fd?: unknown }).fd;
  if (!want || typeof fd !== 'number') return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return want === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** eventFields are the JSON line's fields for a winston info object: fixed ones first, then the facts. */
function eventFields(info: winston.Logform.TransformableInfo): Record<string, unknown> {
  const { level, message, timestamp: _t, ...facts } = info;
  return { time: new Date().toISOString(), level, log: 'yalb', msg: message, ...facts };
}

/** createLogger returns a new winston logger; each call is independent. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stdout;
  const isTty = (stream as { isTTY?: boolean }).isTTY === true;
  const format = opts.format ?? (isTty ? 'pretty' : 'json');
  // NO_COLOR drops the colour only; the pretty layout stays (https://no-color.org).
  const colour = colorWanted(stream as { isTTY?: boolean });
  const journald = opts.journald ?? connectedToJournal(stream);
  const prefix = (level: string) => (journald ? `<${PRIORITY[level] ?? 6}>` : '');
  const { combine, timestamp, printf, colorize, errors } = winston.format;
  const fmt = format === 'json'
    ? combine(errors({ stack: true }), printf((info) => `${prefix(info.level)}${JSON.stringify(eventFields(info))}`))
    : combine(
      timestamp({ format: 'HH:mm:ss.SSS' }),
      errors({ stack: true }),
      // The facts are in the text already: a terminal shows the message alone (and a stack, when there is one).
      printf(({ level, message, timestamp: ts, component, stack }) => {
        const text = `${String(message)}${typeof stack === 'string' ? ` (${stack.replace(/\n\s*/g, ' | ')})` : ''}`;
        const head = colour ? colorize().colorize(level, level) : level;
        return `${prefix(level)}${String(ts)} ${head}${component ? ` [${String(component)}]` : ''} ${text.replace(/\n/g, ' ')}`;
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
