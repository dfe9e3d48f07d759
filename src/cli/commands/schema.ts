/**
 * `yalb schema`: print the JSON Schema of lb.yaml, for editors and for
 * config/lb.schema.json. A pure command; src/cli.ts does the printing and exiting.
 */
import { lbJsonSchema } from '../../config/json-schema.js';
import { parseCommand } from '../args.js';
import type { CommandIo } from '../io.js';

/** usage is the help text of `yalb schema`. */
export const usage = `Usage: yalb schema

Print the JSON Schema (draft-07) of lb.yaml on stdout. Point your editor at it
with a first line in lb.yaml such as:
  # yaml-language-server: $schema=./config/lb.schema.json

Options:
  -h, --help   show this help

Example:
  yalb schema > config/lb.schema.json`;

/** runSchema runs `yalb schema` with the arguments after the command name and returns the exit code. */
export async function runSchema(args: string[], io: CommandIo): Promise<number> {
  const values = parseCommand('schema', args, io, usage, {});
  if (typeof values === 'number') return values;
  io.out(JSON.stringify(lbJsonSchema(), null, 2));
  return 0;
}
