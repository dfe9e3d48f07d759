/**
 * Where a command reads the config it was given with `-c FILE`: a file, or
 * standard input for `-c -` (a generated config checked before it is
 * written: `render-config | yalb check -c -`). Issues then name the file
 * `<stdin>`, as compilers do.
 */
import { MAX_CONFIG_BYTES, loadConfig, parseConfigText, type LoadResult } from '../config/load.js';
import type { CommandIo } from './io.js';

/** STDIN_FILE is the `-c` value that means standard input. */
export const STDIN_FILE = '-';
/** STDIN_NAME is how issues and summaries name standard input. */
export const STDIN_NAME = '<stdin>';

/**
 * readConfigInput reads and validates the config named by `-c`: standard
 * input when `file` is "-" (from `io.stdin`), else the file. Like
 * loadConfig it never throws: an unreadable input is a failed LoadResult.
 */
export async function readConfigInput(file: string, io: CommandIo): Promise<LoadResult> {
  if (file !== STDIN_FILE) return loadConfig(file);
  if (!io.stdin) return readFailure('standard input is not available');
  // Typed at a terminal, the input ends with Ctrl-D: say so rather than seem to hang.
  if ((io.stdin as { isTTY?: boolean }).isTTY) io.err('yalb: reading the config from standard input (end it with Ctrl-D)');
  const read = await readStdin(io.stdin, MAX_CONFIG_BYTES);
  if ('error' in read) return readFailure(read.error);
  return parseConfigText(read.text, STDIN_NAME);
}

/**
 * readStdin reads a stream to its end as UTF-8 text, at most `limit` bytes
 * (it stops reading past that); returns an error message for a longer or
 * non-UTF-8 input, or a stream error.
 */
export function readStdin(stream: NodeJS.ReadableStream, limit: number): Promise<{ text: string } | { error: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: { text: string } | { error: string }) => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > limit) return done({ error: `input is too large (more than ${limit} bytes = 1 MiB)` });
      chunks.push(b);
    };
    const onEnd = () => {
      try {
        done({ text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) });
      } catch {
        done({ error: 'not valid UTF-8 text; expected a YAML file' });
      }
    };
    const onError = (err: Error) => done({ error: `cannot read: ${err.message}` });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.resume();
  });
}

function readFailure(message: string): LoadResult {
  return { ok: false, code: 'YALB_ERR_CONFIG_READ', issues: [{ file: STDIN_NAME, line: 1, col: 1, message, path: '' }] };
}
