/**
 * Regular expressions for numeric ranges, so the JSON Schema can bound what
 * a unit string means ("596h" is within Node's longest timer, "597h" is
 * not) although JSON Schema cannot convert units. Pure; used only to build
 * the schema's patterns, never on the request path.
 *
 * A number here is what lb.yaml's unit strings hold: `\d+(\.\d+)?`, leading
 * zeros allowed. A bound is an exact fraction (bigint numerator and
 * denominator), so "value < 2147483647.5 / 3600000" is decided digit by
 * digit with no floating point. The patterns use only ECMA-262 features
 * every JSON Schema validator shares (no lookahead).
 */

/** Fraction is an exact non-negative rational number num/den. */
export interface Fraction {
  num: bigint;
  den: bigint;
}

/** Bound is one end of a range: a value and whether the value itself is in. */
export interface Bound {
  value: Fraction;
  inclusive: boolean;
}

/**
 * FRACTION_DIGITS bounds the expansion of a bound: its digits up to where
 * they repeat (a repeating tail becomes a loop in the pattern, so
 * 596.52323541666…h is exact), and the repeating part itself. A bound that
 * needs more is cut there and a longer number close to it is judged on its
 * first FRACTION_DIGITS digits; no bound of lb.yaml needs that many.
 */
const FRACTION_DIGITS = 40;

/** fraction builds num/den from integers. */
export function fraction(num: bigint | number, den: bigint | number = 1n): Fraction {
  return { num: BigInt(num), den: BigInt(den) };
}

/**
 * Decimal is a bound written out: integer part, fraction digits before the
 * repeating part, the repeating part ('' when the expansion ends), and
 * whether it is complete (false when cut at FRACTION_DIGITS).
 */
interface Decimal {
  int: bigint;
  frac: string;
  period: string;
  exact: boolean;
}

/** toDecimal expands num/den by long division; a remainder seen before starts the repeating part. */
function toDecimal(f: Fraction): Decimal {
  const int = f.num / f.den;
  let rem = f.num % f.den;
  let digits = '';
  const seen = new Map<bigint, number>();
  while (rem !== 0n && digits.length < FRACTION_DIGITS) {
    const at = seen.get(rem);
    if (at !== undefined) return { int, frac: digits.slice(0, at), period: digits.slice(at), exact: true };
    seen.set(rem, digits.length);
    rem *= 10n;
    digits += String(rem / f.den);
    rem %= f.den;
  }
  return { int, frac: digits, period: '', exact: rem === 0n };
}

const NEVER = null;
type Re = string | null;

/** alt joins alternatives, dropping impossible ones; null when none is left. */
function alt(parts: Re[]): Re {
  const ok = parts.filter((p): p is string => p !== null);
  if (ok.length === 0) return NEVER;
  return ok.length === 1 ? (ok[0] as string) : `(?:${ok.join('|')})`;
}

function digitClass(lo: number, hi: number): string {
  if (lo === 0 && hi === 9) return '\\d';
  if (lo === hi) return String(lo);
  return `[${lo}-${hi}]`;
}

/** Tight is a bound whose digits the string has matched so far. */
interface Tight {
  d: Decimal;
  inclusive: boolean;
}

const restZero = (t: Tight, pos: number): boolean => t.d.exact && t.d.period === '' && pos >= t.d.frac.length;
const inLoop = (t: Tight, pos: number): boolean => t.d.period !== '' && pos >= t.d.frac.length;
function digitAt(t: Tight, pos: number): number {
  if (pos < t.d.frac.length) return Number(t.d.frac[pos]);
  const { period } = t.d;
  return period === '' ? 0 : Number(period[(pos - t.d.frac.length) % period.length]);
}

/**
 * loop returns the pattern of one or more digits from `pos`, where only
 * `t` is still tight and its digits repeat: any number of whole turns of the
 * repeating part, then a digit below (for a high bound) or above (low bound)
 * the bound's, or, for a high bound, a stop part-way (a finite string is
 * below an endless one).
 */
function loop(t: Tight, side: 'lo' | 'hi', pos: number): Re {
  const { period } = t.d;
  const o = (pos - t.d.frac.length) % period.length;
  const turn = period.slice(o) + period.slice(0, o);
  const ends: string[] = [];
  for (let i = 0; i < turn.length; i++) {
    const d = Number(turn[i]);
    const [lo, hi] = side === 'hi' ? [0, d - 1] : [d + 1, 9];
    if (lo <= hi) ends.push(`${turn.slice(0, i)}${digitClass(lo, hi)}\\d*`);
    if (side === 'hi') ends.push(turn.slice(0, i + 1));
  }
  if (ends.length === 0) return NEVER;
  return `(?:${turn})*${ends.length === 1 ? ends[0] as string : `(?:${ends.join('|')})`}`;
}

/** endOk says whether the fraction may stop at `pos` (the rest read as zeros) given the bounds still tight. */
function endOk(lo: Tight | undefined, hi: Tight | undefined, pos: number): boolean {
  const loOk = !lo || (restZero(lo, pos) && lo.inclusive);
  const hiOk = !hi || !restZero(hi, pos) || hi.inclusive;
  return loOk && hiOk;
}

/**
 * fractionDigits returns a pattern for one or more fraction digits, from
 * position `pos` on, that keep the value within the bounds still tight
 * (lexicographic order of the digits is numeric order after the point).
 */
function fractionDigits(lo: Tight | undefined, hi: Tight | undefined, pos: number): Re {
  if (lo && restZero(lo, pos) && lo.inclusive) lo = undefined; // every continuation is >= lo
  if (hi && restZero(hi, pos)) {
    // Only zeros keep the value <= hi, and they make it equal to hi (and to a tight lo).
    if (!hi.inclusive || (lo && !lo.inclusive)) return NEVER;
    return '0+';
  }
  if (lo && restZero(lo, pos)) return hi ? mixed(lo, hi, pos) : '0*[1-9]\\d*'; // strictly above: a non-zero digit somewhere
  if (!lo && !hi) return '\\d+';
  if (lo && !hi && inLoop(lo, pos)) return loop(lo, 'lo', pos);
  if (hi && !lo && inLoop(hi, pos)) return loop(hi, 'hi', pos);
  if (pos >= FRACTION_DIGITS) return '\\d+'; // beyond a cut expansion: judged on the first digits
  return mixed(lo, hi, pos);
}

function mixed(lo: Tight | undefined, hi: Tight | undefined, pos: number): Re {
  const loDigit = lo ? digitAt(lo, pos) : 0;
  const hiDigit = hi ? digitAt(hi, pos) : 9;
  const parts: Re[] = [];
  const tightAfter = (d: number, l: Tight | undefined, h: Tight | undefined): Re => {
    const rest = fractionDigits(l, h, pos + 1);
    const canEnd = endOk(l, h, pos + 1);
    if (rest === NEVER) return canEnd ? String(d) : NEVER;
    return canEnd ? `${d}(?:${rest})?` : `${d}${rest}`;
  };
  if (lo && hi && loDigit === hiDigit) return tightAfter(loDigit, lo, hi);
  if (lo) parts.push(tightAfter(loDigit, lo, undefined));
  const freeLo = lo ? loDigit + 1 : 0;
  const freeHi = hi ? hiDigit - 1 : 9;
  if (freeLo <= freeHi) parts.push(`${digitClass(freeLo, freeHi)}\\d*`);
  if (hi) parts.push(tightAfter(hiDigit, undefined, hi));
  return alt(parts);
}

/** Same-length integer strings a..b (a <= b, both with n digits), digit by digit. */
function sameLength(a: string, b: string): string {
  if (a.length === 0) return '';
  const a0 = Number(a[0]);
  const b0 = Number(b[0]);
  const restA = a.slice(1);
  const restB = b.slice(1);
  if (a0 === b0) return `${a0}${sameLength(restA, restB)}`;
  const parts: string[] = [];
  const n = restA.length;
  const any = (k: number) => (k === 0 ? '' : k === 1 ? '\\d' : `\\d{${k}}`);
  const allZero = /^0*$/.test(restA);
  const allNine = /^9*$/.test(restB);
  let lo = a0;
  let hi = b0;
  if (!allZero) {
    parts.push(`${a0}${sameLength(restA, '9'.repeat(n))}`);
    lo = a0 + 1;
  }
  if (!allNine) hi = b0 - 1;
  if (lo <= hi) parts.push(`${digitClass(lo, hi)}${any(n)}`);
  if (!allNine) parts.push(`${b0}${sameLength('0'.repeat(n), restB)}`);
  return parts.length === 1 ? (parts[0] as string) : `(?:${parts.join('|')})`;
}

/**
 * integerRange returns a pattern for the integers lo..hi written without
 * leading zeros ("0" for zero); callers put `0*` in front to allow them.
 */
export function integerRange(lo: bigint, hi: bigint): Re {
  if (lo > hi || lo < 0n) return NEVER;
  const parts: string[] = [];
  let start = lo;
  while (start <= hi) {
    const len = String(start).length;
    const top = len === 1 ? 9n : 10n ** BigInt(len) - 1n;
    const end = top < hi ? top : hi;
    parts.push(sameLength(String(start), String(end)));
    start = end + 1n;
  }
  return alt(parts);
}

/**
 * decimalRange returns a pattern (no anchors) for the strings `\d+(\.\d+)?`
 * whose value lies between `min` and `max`; no `min` means from zero.
 * Returns null when no string qualifies.
 */
export function decimalRange({ min: lo, max: hi }: { min?: Bound; max: Bound }): string | null {
  const H = toDecimal(hi.value);
  const L = lo ? toDecimal(lo.value) : { int: 0n, frac: '', period: '', exact: true };
  // Both bounds on one endless expansion: no finite string lies on it (and
  // walking the two in step would not end).
  if (lo && lo.value.num * hi.value.den === hi.value.num * lo.value.den && H.period !== '') return NEVER;
  const loIncl = lo ? lo.inclusive : true;
  const low = { d: L, inclusive: loIncl };
  const high = { d: H, inclusive: hi.inclusive };
  const frac = (l: Tight | undefined, h: Tight | undefined): Re => {
    const digits = fractionDigits(l, h, 0);
    const canEnd = endOk(l, h, 0);
    if (digits === NEVER) return canEnd ? '' : NEVER;
    return canEnd ? `(?:\\.${digits})?` : `\\.${digits}`;
  };
  const parts: Re[] = [];
  if (L.int === H.int) {
    const f = frac(low, high);
    if (f !== NEVER) parts.push(`0*${L.int === 0n ? '0' : String(L.int)}${f}`);
  } else {
    const fl = frac(low, undefined);
    if (fl !== NEVER) parts.push(`0*${L.int === 0n ? '0' : String(L.int)}${fl}`);
    const middle = integerRange(L.int + 1n, H.int - 1n);
    if (middle !== NEVER) parts.push(`0*${middle}(?:\\.\\d+)?`);
    const fh = frac(undefined, high);
    if (fh !== NEVER) parts.push(`0*${String(H.int)}${fh}`);
  }
  return alt(parts);
}
