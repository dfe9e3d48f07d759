/**
 * Command-line parsing shared by the commands: node:util parseArgs, strict,
 * no positionals, `-h/--help` on every command, and the option specs more
 * than one command takes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { badUsage, type CommandIo } from './io.js';

/** OptionSpecs is the `options` table parseArgs takes. */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

type Spec<O extends OptionSpecs> = { args: string[]; options: O & typeof helpOption; strict: true; allowPositionals: false };

/** ParsedOptions is what parseCommand returns for an options table: the values, typed from the specs, plus `help`. */
export type ParsedOptions<O extends OptionSpecs> = ReturnType<typeof parseArgs<Spec<O>>>['values'];

/** configOption is `-c, --config FILE`. */
export const configOption = { config: { type: 'string', short: 'c' } } as const;

/**
 * parseCommand parses the arguments after a command's name against
 * `options` (plus `-h, --help`). Returns the values, or the exit code to
 * return at once: 0 after printing `usage` for --help, 2 after printing
 * `yalb: NAME: <parseArgs message> (YALB_ERR_USAGE)` and the usage for an
 * unknown option, a missing value or a positional.
 */
export function parseCommand<O extends OptionSpecs>(name: string, args: string[], io: CommandIo, usage: string, options: O): ParsedOptions<O> | number {
  const spec: Spec<O> = { args, options: { ...options, ...helpOption }, strict: true, allowPositionals: false };
  let values: ParsedOptions<O>;
  try {
    ({ values } = parseArgs(spec));
  } catch (err) {
    return badUsage(io, `${name}: ${(err as Error).message}`, usage);
  }
  if ((values as { help?: boolean }).help) {
    io.out(usage);
    return 0;
  }
  return values;
}
