/**
 * The human units of lb.yaml: durations, sizes and percentages. Pure
 * parsers, kept in-house (about thirty lines) instead of `ms` or `bytes`:
 * those accept "2 days", "-5s" or "10S" and throw on "" — lenient in ways a
 * config validator should not be. Then the zod schemas schema.ts builds its
 * keys from (`duration`, `size`, `percent`): each validates with the
 * daemon's bounds and carries the JSON Schema of exactly what it accepts
 * (units, bounds and the message an editor shows), so an editor flags
 * `20 sec` or `1000h` while it is typed, as `yalb check` would.
 */
import { z } from 'zod';
import { withJsonSchema } from './json-hint.js';
import { decimalRange, fraction } from './range-pattern.js';

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
 * scale turns a decimal string such as "1.5" times `unit` into a whole
 * number, rounding halves up, exactly (bigint): the JSON Schema's bounds are
 * computed the same way, so "596.52h" is judged alike by both.
 */
function scale(decimal: string, unit: number): number {
  const [int = '0', frac = ''] = decimal.split('.');
  const den = 10n ** BigInt(frac.length);
  const num = BigInt(int + frac) * BigInt(unit);
  return Number((2n * num + den) / (2n * den));
}

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
  return scale(input.slice(0, -unit.length), DURATION_UNIT_MS[unit] as number);
}

/** parseSize turns "64KiB" | "1MiB" | a whole number of bytes into bytes, or undefined. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const m = SIZE_RE.exec(input);
  if (!m) return undefined;
  const unit = m[2] as string;
  return scale(input.slice(0, -unit.length), SIZE_UNIT_BYTES[unit] as number);
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

/**
 * MAX_DURATION_MS is the longest delay Node's timers honour (2^31 - 1 ms,
 * about 24.8 days): a longer one fires after 1 ms, so it is refused here.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** MAX_BUFFER_BYTES caps sizes of what yalb holds in memory per request (1 GiB). */
export const MAX_BUFFER_BYTES = 2 ** 30;

/**
 * unitPattern returns the anchored JSON Schema pattern of "<number><unit>"
 * strings whose value in base units, rounded as scale() rounds, lies within
 * min..max: round(x·f) ∈ [min, max] ⟺ (2·min − 1)/(2f) ≤ x < (2·max + 1)/(2f).
 */
export function unitPattern(units: Record<string, number>, min: number, max: number): string {
  const alts: string[] = [];
  for (const [name, factor] of Object.entries(units)) {
    const f = 2n * BigInt(factor);
    const digits = decimalRange({
      ...(min > 0 ? { min: { value: fraction(2n * BigInt(min) - 1n, f), inclusive: true } } : {}),
      max: { value: fraction(2n * BigInt(max) + 1n, f), inclusive: false },
    });
    if (digits !== null) alts.push(`${digits}${name}`);
  }
  return `^(?:${alts.join('|')})$`;
}

/** formatMs prints milliseconds in the largest unit that divides them ("100ms", "2s", "5m"); Node's limit reads "24.8 days". */
function formatMs(ms: number): string {
  if (ms === MAX_DURATION_MS) return '596h (24.8 days)';
  for (const [unit, f] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= f && ms % f === 0) return `${ms / f}${unit}`;
  }
  return `${ms}ms`;
}

/** formatBytes prints bytes in the largest binary unit that divides them ("64KiB", "1GiB"). */
function formatBytes(n: number): string {
  for (const [unit, f] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${unit}`;
  }
  return `${n} bytes`;
}

/**
 * duration is the zod schema of a duration key: "500ms" | "2s" | "1m" |
 * "1h" | whole milliseconds, from `min` (default 0; 1 where 0 has no
 * meaning) to MAX_DURATION_MS; its value is milliseconds. `what` is the key
 * as messages name it ("healthCheck.interval").
 */
export function duration(what: string, o: { min?: number; max?: number } = {}) {
  const min = o.min ?? 0;
  const max = o.max ?? MAX_DURATION_MS;
  const expected = `${what}: expected a duration like "500ms", "20s", "1m" or a whole number of milliseconds`;
  const schema = z.union([z.int().nonnegative(), z.string().regex(DURATION_RE, { error: expected })], { error: expected })
    .transform((v, ctx) => {
      const ms = parseDuration(v) as number;
      if (ms > max) {
        const why = max === MAX_DURATION_MS ? `at most 24d (${MAX_DURATION_MS} ms, the longest timer Node honours)` : `at most ${formatMs(max)}`;
        ctx.addIssue({ code: 'custom', message: `${what}: ${why}, got ${ms} ms` });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `${what}: must be at least ${min} ms${min === 1 ? ' (0 has no meaning here)' : ''}` });
        return z.NEVER;
      }
      return ms;
    });
  const range = min > 0 ? `from ${formatMs(min)} to ${formatMs(max)}` : `at most ${formatMs(max)}`;
  const message = `Expected a duration: "10ms", "2s", "1m", "1h" or whole milliseconds; ${range}`;
  return withJsonSchema(schema, {
    type: ['string', 'integer'],
    pattern: unitPattern(DURATION_UNIT_MS, min, max),
    minimum: min,
    maximum: max,
    errorMessage: message,
    patternErrorMessage: message,
  });
}

/**
 * size is the zod schema of a size key: "64KiB" | "1MiB" | whole bytes, at
 * most `max` (default MAX_BUFFER_BYTES); its value is bytes.
 */
export function size(what: string, max = MAX_BUFFER_BYTES) {
  const expected = `${what}: expected a size like "64KiB", "1MiB" or a whole number of bytes`;
  const schema = z.union([z.int().nonnegative(), z.string().regex(SIZE_RE, { error: expected })], { error: expected })
    .transform((v, ctx) => {
      const n = parseSize(v) as number;
      if (n > max) {
        ctx.addIssue({ code: 'custom', message: `${what}: at most ${max / 2 ** 20} MiB (${max} bytes), got ${n} bytes` });
        return z.NEVER;
      }
      return n;
    });
  const message = `Expected a size: "64KiB", "1MiB" (KB, MB, GB mean the same) or whole bytes; at most ${formatBytes(max)}`;
  return withJsonSchema(schema, {
    type: ['string', 'integer'],
    pattern: unitPattern(SIZE_UNIT_BYTES, 0, max),
    minimum: 0,
    maximum: max,
    errorMessage: message,
    patternErrorMessage: message,
  });
}

/** percent is the zod schema of a percentage key: "20%" or a number 0..100; its value is a fraction 0..1. */
export function percent(what: string) {
  const schema = z.union([
    z.number().min(0).max(100),
    z.string().regex(PERCENT_RE, { error: `${what}: expected a percentage like "20%"` }),
  ], { error: `${what}: expected a percentage like "20%" (0% to 100%)` })
    .transform((v, ctx) => {
      const f = parsePercent(v);
      if (f === undefined) {
        ctx.addIssue({ code: 'custom', message: `${what}: must be between 0% and 100%` });
        return z.NEVER;
      }
      return f;
    });
  const hundred = { value: fraction(100), inclusive: true };
  const message = 'Expected a percentage: "20%" or a number from 0 to 100';
  return withJsonSchema(schema, {
    type: ['string', 'number'],
    pattern: `^${decimalRange({ max: hundred }) as string}%$`,
    minimum: 0,
    maximum: 100,
    errorMessage: message,
    patternErrorMessage: message,
  });
}

/**
 * statusRanges is the zod schema of a set of HTTP status codes: "200",
 * "200-399" or "200,204"; codes 100-599, each range low-high. Its value is
 * StatusRanges. (That low <= high is the one rule the JSON Schema cannot say.)
 */
export function statusRanges(what: string) {
  const schema = z.string().regex(STATUS_RANGES_RE, { error: `${what}: expected "200", "200-399" or "200,204"` })
    .transform((spec, ctx) => {
      const r = parseStatusRanges(spec);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: `${what}: ${r}` });
        return z.NEVER;
      }
      return r;
    });
  const message = 'Expected status codes 100-599: "200", "200-399" or "200,204"';
  return withJsonSchema(schema, {
    type: 'string',
    pattern: '^[1-5]\\d\\d(-[1-5]\\d\\d)?(,[1-5]\\d\\d(-[1-5]\\d\\d)?)*$',
    errorMessage: message,
    patternErrorMessage: message,
  });
}
