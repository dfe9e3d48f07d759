/**
 * What every command gets instead of process globals: two print functions
 * and standard input. Only src/cli.ts touches process.stdout, process.stdin,
 * process.argv and process.exit.
 */

/** CommandIo is where a command prints: `out` for results (stdout), `err` for problems (stderr); each call is one line or block, without the trailing newline. `stdin` is read only for `-c -` (config-input.ts). */
export interface CommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin?: NodeJS.ReadableStream;
}

/** badUsage prints a usage error and returns exit code 2. */
export function badUsage(io: CommandIo, message: string, usage: string): number {
  io.err(`yalb: ${message} (YALB_ERR_USAGE)\n\n${usage}`);
  return 2;
}
