/**
 * Pure parsers for the human units of lb.yaml: durations, sizes and
 * percentages. We keep them in-house (about thirty lines) instead of `ms` or
 * `bytes`: those accept "2 days", "-5s" or "10S" and throw on "" — lenient
 * in ways a config validator should not be. The regexes double as JSON Schema patterns, so an
 * editor flags `20 sec` while it is typed.
 */

/** DURATION_PATTERN matches a duration string: a number and ms, s, m or h. */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h)$';
/** SIZE_PATTERN matches a size string: a number and B, KiB, MiB or GiB (KB/MB/GB mean the same). */
export const SIZE_PATTERN = '^\\d+(\\.\\d+)?(B|KiB|MiB|GiB|KB|MB|GB)$';
/** PERCENT_PATTERN matches a percentage string such as "20%". */
export const PERCENT_PATTERN = '^\\d+(\\.\\d+)?%$';

const DURATION_RE = new RegExp(DURATION_PATTERN);
const SIZE_RE = new RegExp(SIZE_PATTERN);
const PERCENT_RE = new RegExp(PERCENT_PATTERN);

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNIT_BYTES: Record<string, number> = {
  B: 1, KiB: 1024, KB: 1024, MiB: 1024 ** 2, MB: 1024 ** 2, GiB: 1024 ** 3, GB: 1024 ** 3,
};

/**
 * parseDuration turns "10ms" | "2s" | "1m" | "1h" | a whole number of
 * milliseconds into milliseconds. Returns undefined for anything else
 * (negative, compound like "1m30s", spaces, unknown units).
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = DURATION_RE.exec(input);
  if (!m) return undefined;
  const unit = m[2] as string;
  return Math.round(Number.parseFloat(input) * (DURATION_UNIT_MS[unit] as number));
}

/** parseSize turns "64KiB" | "1MiB" | a whole number of bytes into bytes, or undefined. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = SIZE_RE.exec(input);
  if (!m) return undefined;
  return Math.round(Number.parseFloat(input) * (SIZE_UNIT_BYTES[m[2] as string] as number));
}

/** parsePercent turns "20%" or a number 0..100 into a fraction 0..1, or undefined. */
export function parsePercent(input: string | number): number | undefined {
  let n: number;
  if (typeof input === 'number') n = input;
  else if (PERCENT_RE.test(input)) n = Number.parseFloat(input);
  else return undefined;
  return n >= 0 && n <= 100 ? n / 100 : undefined;
}

/** StatusRanges is a parsed healthCheck.expectStatus: inclusive [low, high] pairs. */
export type StatusRanges = ReadonlyArray<readonly [number, number]>;

/** STATUS_RANGES_PATTERN matches "200", "200-399" or "200,204" (three-digit codes, ranges, commas). */
export const STATUS_RANGES_PATTERN = '^\\d{3}(-\\d{3})?(,\\d{3}(-\\d{3})?)*$';
const STATUS_RANGES_RE = new RegExp(STATUS_RANGES_PATTERN);

/**
 * parseStatusRanges turns "200-399", "200" or "200,204" into ranges; returns
 * an error message for a malformed spec, a code outside 100-599 or a
 * reversed range.
 */
export function parseStatusRanges(spec: string): StatusRanges | string {
  if (!STATUS_RANGES_RE.test(spec)) return 'expected "200", "200-399" or "200,204"';
  const ranges = spec.split(',').map((part) => {
    const [lo, hi = lo] = part.split('-').map(Number) as [number, number?];
    return [lo, hi] as const;
  });
  if (!ranges.every(([lo, hi]) => lo >= 100 && hi <= 599 && lo <= hi)) return 'each code must be 100-599 and each range low-high';
  return ranges;
}

/** HashKey is a parsed `hashKey`: the client IP, or a named header, cookie or query parameter. */
export type HashKey = { kind: 'ip' } | { kind: 'header' | 'cookie' | 'query'; name: string };

/** HASH_KEY_PATTERN matches ip, header:NAME, cookie:NAME or query:NAME. */
export const HASH_KEY_PATTERN = '^(ip|(header|cookie|query):[^\\s:]+)$';
const HASH_KEY_RE = new RegExp(HASH_KEY_PATTERN);

/** parseHashKey turns "ip" | "header:NAME" | "cookie:NAME" | "query:NAME" into a HashKey (header names lower-cased), or undefined. */
export function parseHashKey(spec: string): HashKey | undefined {
  if (!HASH_KEY_RE.test(spec)) return undefined;
  if (spec === 'ip') return { kind: 'ip' };
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon) as 'header' | 'cookie' | 'query';
  const name = spec.slice(colon + 1);
  return { kind, name: kind === 'header' ? name.toLowerCase() : name };
}
