/**
 * `yalb check`: validate lb.yaml without starting anything, like `nginx -t`.
 * A pure command: it gets its arguments and two print functions and returns
 * the exit code; src/cli.ts owns process.argv, the streams and process.exit.
 */
import { formatIssue, positionOf, type ConfigIssue } from '../../config/load.js';
import { checkTls } from '../../tls/runtime.js';
import { resolvePools } from '../../config/pools.js';
import type { LbConfig } from '../../config/schema.js';
import { configOption, parseCommand } from '../args.js';
import { STDIN_NAME, readConfigInput } from '../config-input.js';
import { badUsage as usageError, type CommandIo } from '../io.js';

/** CHECK_FORMATS lists the values `--format` accepts. */
export const CHECK_FORMATS = ['text', 'json', 'github'] as const;
/** CheckFormat is one of CHECK_FORMATS. */
export type CheckFormat = (typeof CHECK_FORMATS)[number];

/** usage is the help text of `yalb check`. */
export const usage = `Usage: yalb check [-c FILE] [--format text|json|github]

Validate a config file without starting the balancer. Every problem is
reported as file:line:col: message.

Options:
  -c, --config FILE   config file to check (default: ./lb.yaml); "-" reads
                      standard input, reported as <stdin>
      --format FMT    text   (default) problems on stderr, "FILE: ok (…)" on stdout
                      json   {"ok":…,"file":…,"issues":[…]} on stdout
                      github one ::error annotation per problem on stdout (GitHub Actions)
  -h, --help          show this help

Exit status: 0 valid, 1 invalid or unreadable, 2 bad usage.

Examples:
  yalb check
  yalb check -c /etc/yalb/lb.yaml
  yalb check --format github -c deploy/lb.yaml
  render-config | yalb check -c -`;

/** runCheck runs `yalb check` with the arguments after the command name and returns the exit code. */
export async function runCheck(args: string[], io: CommandIo): Promise<number> {
  const values = parseCommand('check', args, io, usage, { ...configOption, format: { type: 'string' } });
  if (typeof values === 'number') return values;
  const format = values.format ?? 'text';
  if (!isCheckFormat(format)) return badUsage(io, `unknown --format "${format}" (expected ${CHECK_FORMATS.join(', ')})`);
  const file = values.config ?? 'lb.yaml';
  if (file === '') return badUsage(io, '--config needs a file name');

  const loaded = await readConfigInput(file, io);
  const name = file === '-' ? STDIN_NAME : file;
  // The files tls: names (readable, pair matches, not expired), at the key that names the bad file.
  const tlsIssues: ConfigIssue[] = loaded.ok
    ? checkTls(loaded.config).map((i) => ({ file: name, ...(positionOf(loaded.text, i.path) ?? { line: 1, col: 1 }), message: `${i.path.join('.')}: ${i.message}`, path: i.path.join('.') }))
    : [];
  const result = tlsIssues.length > 0 ? { ok: false as const, issues: tlsIssues } : loaded;
  const issues = result.ok ? [] : result.issues;
  const summary = result.ok
    ? `${name}: ok (${result.config.pools ? poolSummary(result.config) : `${plural(result.config.backends.length, 'backend')}, strategy ${result.config.strategy}`})`
    : '';
  switch (format) {
    case 'json':
      io.out(JSON.stringify({ ok: result.ok, file: name, issues }));
      break;
    case 'github':
      if (result.ok) io.out(summary);
      for (const i of issues) io.out(githubAnnotation(i));
      break;
    case 'text':
      if (result.ok) io.out(summary);
      for (const i of issues) io.err(formatIssue(i));
      break;
  }
  return result.ok ? 0 : 1;
}

/**
 * githubAnnotation renders an issue as a GitHub Actions workflow command,
 * `::error file=F,line=L,col=C::message`, escaped as the runner expects
 * (% CR LF in the message; also : and , in the properties).
 */
export function githubAnnotation(i: ConfigIssue): string {
  const data = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string) => data(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const message = formatIssue(i).slice(`${i.file}:${i.line}:${i.col}: `.length);
  return `::error file=${prop(i.file.replace(/^\.\//, ''))},line=${i.line},col=${i.col}::${data(message)}`;
}

function isCheckFormat(s: string): s is CheckFormat {
  return (CHECK_FORMATS as readonly string[]).includes(s);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function badUsage(io: CommandIo, message: string): number {
  return usageError(io, `check: ${message}`, usage);
}

/** poolSummary says what a config with pools: serves (routes, issue 15): "3 backends in 2 pools, 3 routes". */
function poolSummary(cfg: LbConfig): string {
  const pools = resolvePools(cfg);
  const urls = new Set(pools.flatMap((p) => p.backends.map((b) => b.url)));
  return `${plural(urls.size, 'backend')} in ${plural(pools.length, 'pool')}, ${plural(cfg.routes?.length ?? 0, 'route')}`;
}
