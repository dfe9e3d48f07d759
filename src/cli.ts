#!/usr/bin/env node
/**
 * The `yalb` command. The only file that reads process.argv, prints for
 * humans and calls process.exit; each command lives in cli/commands/.
 */
import { runCheck } from './cli/commands/check.js';
import { runSchema } from './cli/commands/schema.js';
import { runReload } from './cli/commands/reload.js';
import { runStart } from './cli/commands/start.js';
import { runStatus } from './cli/commands/status.js';
import { runStop } from './cli/commands/stop.js';
import type { CommandIo } from './cli/io.js';
import { VERSION } from './daemon/daemon.js';

const USAGE = `Usage: yalb <command> [options]

Commands:
  start    run the load balancer on lb.yaml (foreground, or --daemon)
  reload   make the running daemon reload its config and report the result
  stop     stop the running daemon (drains in-flight requests)
  status   show the running daemon's pool (reads the admin API)
  check    validate lb.yaml and print every problem as file:line:col
  schema   print the JSON Schema of lb.yaml

Run "yalb <command> --help" for a command's options.`;

const commands: Record<string, (args: string[], io: CommandIo) => Promise<number>> = {
  start: runStart,
  reload: runReload,
  stop: runStop,
  status: runStatus,
  check: runCheck,
  schema: runSchema,
};

const io: CommandIo = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    io.out(VERSION);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(USAGE);
    return name === undefined ? 2 : 0;
  }
  const run = commands[name];
  if (!run) {
    io.err(`yalb: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return run(rest, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let stdout drain before exiting (a piped `yalb schema` must not be cut).
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`yalb: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(70);
  },
);
