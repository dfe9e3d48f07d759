/**
 * Reads lb.yaml and turns it into a validated LbConfig, or into a list of
 * problems that each carry `file:line:col`. Every failure (unreadable file,
 * YAML syntax, schema) comes back the same way, as `{ ok: false, issues }`,
 * so `yalb check`, the first start and hot reload all report alike.
 *
 * Pipeline: stat (refuse > 1 MiB) → read → sha256 → binary / UTF-8 checks →
 * yaml.parseDocument with a LineCounter → stop on any YAML error → top level
 * must be a mapping → LbConfigSchema.safeParse → map each zod issue's path
 * back to a node of the document, in words a user of lb.yaml understands.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  Composer, Lexer, LineCounter, Parser, YAMLParseError, isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Document,
} from 'yaml';
import type { core } from 'zod';
import { YalbError } from '../errors.js';
import { LbConfigSchema, type LbConfig } from './schema.js';

/** MAX_CONFIG_BYTES is the largest lb.yaml we agree to parse (1 MiB); bigger files are refused unread. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** ConfigIssue is one problem in a config file, with a 1-based position and the dotted key path ('' for the root). */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  message: string;
  path: string;
}

/** LoadFailure is the failing branch of LoadResult; `code` tells a read problem from an invalid file. */
export interface LoadFailure {
  ok: false;
  code: 'YALB_ERR_CONFIG_READ' | 'YALB_ERR_CONFIG_INVALID';
  issues: ConfigIssue[];
  /** sha256 hex of the raw bytes, when they could be read. */
  hash?: string;
}

/** LoadResult is what loadConfig and parseConfigText return: a config with its hash and text, or every issue found. */
export type LoadResult = { ok: true; config: LbConfig; hash: string; text: string } | LoadFailure;

/** ConfigInvalidError is thrown by callers that need an exception for a config that failed to parse or validate. */
export class ConfigInvalidError extends YalbError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super('YALB_ERR_CONFIG_INVALID', issues.map(formatIssue).join('\n'));
    this.name = 'ConfigInvalidError';
    this.issues = issues;
  }
}

/** ConfigReadError is thrown by callers that need an exception for a config file that could not be read. */
export class ConfigReadError extends YalbError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super('YALB_ERR_CONFIG_READ', issues.map(formatIssue).join('\n'));
    this.name = 'ConfigReadError';
    this.issues = issues;
  }
}

/** configError turns a failed LoadResult into the matching YalbError (ConfigReadError or ConfigInvalidError). */
export function configError(failure: LoadFailure): ConfigReadError | ConfigInvalidError {
  return failure.code === 'YALB_ERR_CONFIG_READ' ? new ConfigReadError(failure.issues) : new ConfigInvalidError(failure.issues);
}

/**
 * formatIssue prints an issue like a compiler does: `file:line:col: path: message`.
 * The path is left out when it is empty or when the message already starts with it.
 */
export function formatIssue(i: ConfigIssue): string {
  const where = i.path !== '' && !i.message.startsWith(i.path) ? `${i.path}: ` : '';
  return `${i.file}:${i.line}:${i.col}: ${where}${i.message}`;
}

/** loadConfig reads, parses and validates the config file at `path`; it never throws for a bad or missing file. */
export async function loadConfig(path: string): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if (st.isDirectory()) return readFailure(path, 'is a directory, expected a YAML file');
    if (!st.isFile()) return readFailure(path, 'not a regular file');
    if (st.size > MAX_CONFIG_BYTES) return readFailure(path, tooLarge(st.size));
    bytes = await readFile(path);
  } catch (err) {
    return readFailure(path, describeFsError(err));
  }
  // The file may have grown between stat and read.
  if (bytes.length > MAX_CONFIG_BYTES) return readFailure(path, tooLarge(bytes.length));
  const hash = sha256(bytes);
  const nul = bytes.indexOf(0);
  if (nul !== -1) return readFailure(path, binary(nul), hash);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return readFailure(path, 'not valid UTF-8 text; expected a YAML file', hash);
  }
  return runSliced(parseSteps(text, path, hash));
}

/** parseConfigText parses and validates config text as if read from `file`; the hash is of its UTF-8 bytes. */
export function parseConfigText(text: string, file: string): LoadResult {
  const bytes = Buffer.from(text, 'utf8');
  const hash = sha256(bytes);
  if (bytes.length > MAX_CONFIG_BYTES) return readFailure(file, tooLarge(bytes.length), hash);
  const nul = text.indexOf('\0');
  if (nul !== -1) return readFailure(file, binary(nul), hash);
  return runToEnd(parseSteps(text, file, hash));
}

/**
 * SLICE_MS is how long loadConfig may hold the event loop before it lets
 * other work run: a 10,000-backend lb.yaml takes a few hundred ms to parse,
 * and a reload must not stall the running pool's requests, probes and
 * /status for that long. Measured (examples/bench/reload-stall.ts, 10,000
 * backends): longest stall of a reload, median ~590 → ~120 ms; what is left
 * is yaml composing the document in one block and the reload's pool build.
 */
const SLICE_MS = 10;

/** Steps is a parse that pauses (`yield`) wherever it may let the event loop run; the driver decides whether to. */
type Steps = Generator<void, LoadResult, void>;

/** runToEnd drives a parse without pausing (parseConfigText is synchronous). */
function runToEnd(steps: Steps): LoadResult {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * runSliced drives a parse in slices of about SLICE_MS, with a turn of the
 * event loop between them. A file that needed more than one slice gets one
 * more turn at the end, so the caller's next synchronous steps (the reload's
 * pool build and commit) do not run in the same turn as the last slice.
 */
async function runSliced(steps: Steps): Promise<LoadResult> {
  let sliced = false;
  for (;;) {
    const start = performance.now();
    let r: IteratorResult<void, LoadResult>;
    do r = steps.next(); while (!r.done && performance.now() - start < SLICE_MS);
    if (r.done && !sliced) return r.value;
    await nextTurn();
    sliced = true;
    if (r.done) return r.value;
  }
}

/** PAUSE_EVERY is how many YAML lexemes are parsed between two points where the parse may pause. */
const PAUSE_EVERY = 2048;

/**
 * composeDocument is yaml's parseDocument(text, { lineCounter, prettyErrors:
 * false, uniqueKeys: true }) written out with its public parts (Lexer,
 * Parser, Composer), the same calls in the same order, so that it can pause
 * every PAUSE_EVERY lexemes. Same document, same errors, same positions.
 */
function* composeDocument(text: string, lineCounter: LineCounter): Generator<void, Document.Parsed, void> {
  // Line starts come from the text itself, not from the parser's callback:
  // the parser skips an unexpected multi-line scalar without reporting its
  // line breaks, which put later issues on an earlier line (found by
  // test/unit/config-fuzz.test.ts).
  const parser = new Parser();
  const composer = new Composer({ lineCounter, prettyErrors: false, uniqueKeys: true });
  let doc: Document.Parsed | undefined;
  let more = false;
  const take = (docs: Iterable<Document.Parsed>): void => {
    for (const d of docs) {
      if (!doc) doc = d;
      else if (doc.options.logLevel !== 'silent') {
        doc.errors.push(new YAMLParseError(d.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
        more = true; // parseDocument stops at the second document
        return;
      }
    }
  };
  lineCounter.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
  let n = 0;
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) {
      take(composer.next(token));
      if (more) return doc as Document.Parsed;
    }
    if (++n % PAUSE_EVERY === 0) yield;
  }
  for (const token of parser.end()) {
    take(composer.next(token));
    if (more) return doc as Document.Parsed;
  }
  take(composer.end(true, text.length));
  return doc as Document.Parsed; // composer.end(true) always yields a document
}

function* parseSteps(text: string, file: string, hash: string): Steps {
  const lineCounter = new LineCounter();
  const doc = yield* composeDocument(text, lineCounter);
  const at = (offset: number, message: string, path = ''): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, message, path };
  };
  // Any YAML error stops here: validating a half-parsed tree would report
  // phantom problems (a duplicate key silently keeps only the last value).
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => at(...yamlIssue(e, text, lineCounter)));
    return { ok: false, code: 'YALB_ERR_CONFIG_INVALID', issues, hash };
  }
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null && top.range?.[0] === top.range?.[1])) {
    return readFailure(file, 'file is empty: expected a mapping with at least "backends:"', hash);
  }
  if (!isMap(top)) {
    const got = isSeq(top) ? 'a list' : isScalar(top) ? `a single value (${JSON.stringify(top.value)})` : 'something else';
    const message = `expected a mapping of settings at the top level (like "backends:"), got ${got}`;
    return { ok: false, code: 'YALB_ERR_CONFIG_INVALID', issues: [at(top.range?.[0] ?? 0, message)], hash };
  }
  yield; // composing is one block (the whole document at once): validate in the next slice
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs (billion laughs) surface here. An
    // unresolved alias is most often an unquoted wildcard host (host:
    // *.example.com, routes): point at it and say so.
    let where = 0;
    let hint = '';
    visit(doc, { Alias(_, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      where = node.range?.[0] ?? 0;
      hint = ` (a value starting with * is an alias in YAML; a wildcard host must be quoted: "*${node.source}")`;
      return visit.BREAK;
    } });
    return { ok: false, code: 'YALB_ERR_CONFIG_INVALID', issues: [at(where, `YAML: ${(err as Error).message}${hint}`)], hash };
  }
  yield; // toJS and the schema each take tens of ms at 10,000 backends: a pause between them
  const parsed = LbConfigSchema.safeParse(data, { reportInput: true });
  if (parsed.success) return { ok: true, config: parsed.data, hash, text };
  const issues = parsed.error.issues.flatMap((z) => zodIssueToConfigIssues(z, doc, at));
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  return { ok: false, code: 'YALB_ERR_CONFIG_INVALID', issues, hash };
}

function zodIssueToConfigIssues(
  issue: core.$ZodIssue,
  doc: Document,
  at: (offset: number, message: string, path: string) => ConfigIssue,
): ConfigIssue[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? p.toString() : p));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(LbConfigSchema, path);
    return issue.keys.map((key) => {
      const guess = suggest(key, known);
      const hint = guess !== undefined ? ` (did you mean "${guess}"?)`
        : known.length > 0 && known.length <= 8 ? ` (allowed: ${known.join(', ')})` : '';
      return at(locate(doc, path, key), `unknown key "${key}"${hint}`, [...path, key].join('.'));
    });
  }
  const last = path[path.length - 1];
  // A missing key is reported on the mapping that lacks it: path = its parent.
  if (issue.input === undefined && typeof last === 'string' && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return [at(locate(doc, path), `missing required key "${last}"`, path.slice(0, -1).join('.'))];
  }
  return [at(locate(doc, path), humanizeIssue(issue, path, LbConfigSchema), path.join('.'))];
}

const INDENT_CODES = new Set(['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'TAB_AS_INDENT']);

/** Words and a position for one YAML error; yaml's own position is kept except for an unclosed quote. */
function yamlIssue(e: { code: string; message: string; pos: [number, number] }, text: string, lc: LineCounter): [number, string] {
  const [start, end] = e.pos;
  if (e.code === 'DUPLICATE_KEY') {
    const m = /^\s*("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(text.slice(start));
    const key = m?.[1]?.replace(/^["']|["']$/g, '');
    return [start, key ? `duplicate key "${key}": each key may appear only once in a mapping` : `duplicate key: ${e.message}`];
  }
  // yaml reports an unclosed quote at the end of the file; the opening quote
  // (the last one before the end, since none closes it) is where to look.
  const quote = e.code === 'MISSING_CHAR' ? /closing (["'])quote/.exec(e.message)?.[1] : undefined;
  if (quote !== undefined) {
    const open = text.lastIndexOf(quote, start - 1);
    if (open !== -1) return [open, `YAML syntax error: the quoted string that starts here is never closed (missing ${quote})`];
  }
  let hint = '';
  if (INDENT_CODES.has(e.code)) {
    const endLine = lc.linePos(end).line;
    hint = endLine > lc.linePos(start).line
      ? ` (check the indentation of line ${endLine}: it does not line up with the keys above)`
      : ' (check the indentation)';
  }
  return [start, `YAML syntax error: ${e.message}${hint}`];
}

function readFailure(file: string, message: string, hash?: string): LoadFailure {
  const failure: LoadFailure = { ok: false, code: 'YALB_ERR_CONFIG_READ', issues: [{ file, line: 1, col: 1, message, path: '' }] };
  if (hash !== undefined) failure.hash = hash;
  return failure;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied: the file cannot be read';
  if (code === 'EISDIR') return 'is a directory, expected a YAML file';
  return `cannot read the file: ${(err as Error).message}`;
}

function tooLarge(size: number): string {
  return `file is too large (${size} bytes; the limit is ${MAX_CONFIG_BYTES} bytes = 1 MiB)`;
}

function binary(offset: number): string {
  return `file looks binary (NUL byte at offset ${offset}); expected YAML text`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---- zod issue → position and words -------------------------------------

/** A structural view of a zod 4 schema's definition, enough to walk it by path. */
interface ZodDefLike {
  type: string;
  innerType?: ZodLike;
  in?: ZodLike;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  options?: ZodLike[];
  valueType?: ZodLike;
  format?: string;
}
interface ZodLike { _zod: { def: ZodDefLike } }

/** Strips wrappers (default, prefault, optional, pipe → its input side, …) down to the shape-bearing schema. */
function unwrap(schema: ZodLike): ZodLike {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const d = s._zod.def;
    const next = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (next === undefined) break;
    s = next;
  }
  return s;
}

function schemaAt(root: unknown, path: (string | number)[]): ZodLike | undefined {
  let s: ZodLike | undefined = root as ZodLike;
  for (const seg of path) {
    if (s === undefined) return undefined;
    s = childOf(s, seg);
  }
  return s;
}

function childOf(schema: ZodLike, seg: string | number): ZodLike | undefined {
  const d = unwrap(schema)._zod.def;
  if (d.type === 'object') return d.shape?.[String(seg)];
  if (d.type === 'array') return d.element;
  if (d.type === 'record') return d.valueType;
  if (d.type === 'union') for (const o of d.options ?? []) { const c = childOf(o, seg); if (c) return c; }
  return undefined;
}

/** The keys an object schema at `path` accepts, for "did you mean". */
function knownKeysAt(root: unknown, path: (string | number)[]): string[] {
  const s = schemaAt(root, path);
  const d = s && unwrap(s)._zod.def;
  return d?.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

/** Levenshtein distance, O(a·b) with one row; inputs are short key names. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The closest candidate within edit distance 2 (case-insensitive), if any. */
function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD && d < Math.max(word.length, 2)) { best = c; bestD = d; }
  }
  return best;
}

/**
 * positionOf finds where `path` (like ['admin', 'listen']) is written in
 * config text, 1-based, or undefined when the text does not have it: the
 * same position the loader reports for that path, for failures found while
 * applying a valid config (an address that cannot be bound).
 */
export function positionOf(text: string, path: (string | number)[]): { line: number; col: number } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (!doc.hasIn(path)) return undefined;
  return lineCounter.linePos(locate(doc, path));
}

/**
 * Finds the offset to report for `path` (or for the key `key` of the map at
 * `path`). A missing step reports the nearest existing parent: the key that
 * holds it, the list item, or the start of the file for the root.
 */
function locate(doc: Document, path: (string | number)[], key?: string): number {
  let node: unknown = doc.contents;
  let here = 0;
  const steps: (string | number)[] = key === undefined ? path : [...path, key];
  for (const [i, seg] of steps.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      const keyStart = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
      if (pair === undefined || keyStart === undefined) return here;
      if (key !== undefined && i === steps.length - 1) return keyStart;
      here = keyStart;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      here = (node as { range?: [number] }).range?.[0] ?? here;
    } else {
      return here;
    }
  }
  // An empty value (`backends:` and nothing else) has no useful position: point at its key.
  if (isScalar(node) && node.range && node.range[0] !== node.range[1]) return node.range[0];
  if (isMap(node) || isSeq(node)) return node.range?.[0] ?? here;
  return here;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'integer', number: 'number', string: 'string', boolean: 'boolean (true or false)', array: 'list', object: 'mapping',
};

/** describeValue names a YAML value for "got …": `string "abc"`, `1.5`, `a list`, `null (empty value)`. */
function describeValue(v: unknown): string {
  if (v === null) return 'null (empty value)';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'binary data';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** Drops a "retry.delay: " or "backend url: " label from a schema message: formatIssue prints the path already. */
function stripLabel(message: string, path: (string | number)[]): string {
  const m = /^([A-Za-z][\w.]*(?: [A-Za-z]+)?): (.*)$/s.exec(message);
  if (!m) return message;
  const segs = path.map((p) => String(p).toLowerCase());
  const words = (m[1] as string).toLowerCase().split(/[ .]/);
  return words.every((w) => segs.some((s) => s.startsWith(w))) ? (m[2] as string) : message;
}

/** humanizeIssue rewrites zod's default wording ("Invalid input: expected int, received number") in lb.yaml terms. */
function humanizeIssue(issue: core.$ZodIssue, path: (string | number)[], root: unknown): string {
  const isDefault = /^(Invalid|Too (big|small)|Unrecognized)/.test(issue.message);
  const msg = stripLabel(issue.message, path);
  const got = issue.input === undefined ? '' : `, got ${describeValue(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      if (!isDefault) return /\bgot\b/.test(msg) ? msg : msg + got;
      const s = schemaAt(root, path);
      const d = s && unwrap(s)._zod.def;
      const exp = d?.type === 'number' && d.format && /int/.test(d.format) ? 'int' : issue.expected ?? 'value';
      return `expected ${TYPE_NAMES[exp] ?? exp}${got}`;
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => String(v));
      const guess = typeof issue.input === 'string' ? suggest(issue.input, allowed) : undefined;
      const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
      const shown = typeof issue.input === 'string' ? ` "${issue.input}"` : issue.input === undefined ? '' : ` ${describeValue(issue.input)}`;
      return `unknown value${shown}${hint}; expected one of: ${allowed.join(', ')}`;
    }
    case 'too_big':
    case 'too_small': {
      if (!isDefault) return msg;
      const big = issue.code === 'too_big';
      const bound = String(big ? issue.maximum : issue.minimum);
      const cmp = big ? (issue.inclusive ? 'at most' : 'less than') : (issue.inclusive ? 'at least' : 'more than');
      const n = issue.input as { length?: number } | undefined;
      if (issue.origin === 'array') return `must have ${cmp} ${bound} item(s), got ${n?.length ?? 0}`;
      if (issue.origin === 'string') return `must be ${cmp} ${bound} characters long, got ${n?.length ?? 0}`;
      return `must be ${cmp} ${bound}${got}`;
    }
    case 'invalid_format':
      return isDefault ? `expected a string matching ${issue.pattern ?? issue.format}${got}` : msg + got;
    case 'invalid_union': {
      if (!isDefault) return msg + got;
      const exp = [...new Set(issue.errors.flatMap((b) => (b[0]?.code === 'invalid_type' ? [b[0].expected] : [])))];
      return `expected ${exp.map((e) => TYPE_NAMES[e] ?? e).join(' or ') || 'a different value'}${got}`;
    }
    default:
      return msg;
  }
}
