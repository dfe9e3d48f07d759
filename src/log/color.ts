/**
 * Whether yalb may print ANSI colour: only to a terminal, and never when
 * NO_COLOR is set to a non-empty value (https://no-color.org). NO_COLOR
 * drops colour only: layouts and formats stay as they are.
 */

/** colorWanted says whether output to `stream` may be coloured under `env`. */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '';
}
