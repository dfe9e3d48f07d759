/**
 * loadConfig / parseConfigText: every problem comes back as a ConfigIssue
 * with the exact line:col a user should look at, in words about lb.yaml
 * (one fixture per case under test/fixtures/config/), file problems come
 * back the same way, and the defaults of a minimal config are the seed's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { lbJsonSchema } from '../../src/config/json-schema.js';
import {
  ConfigInvalidError, ConfigReadError, MAX_CONFIG_BYTES, configError, formatIssue, loadConfig, parseConfigText,
  type LoadResult,
} from '../../src/config/load.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

/** failed asserts that a LoadResult is a failure and narrows it. */
function failed(r: LoadResult) {
  assert.equal(r.ok, false, 'expected the config to be rejected');
  if (r.ok) throw new Error('unreachable');
  return r;
}

/** tempDir makes a directory under os.tmpdir() that is removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'yalb-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Expect = { line: number; col: number; path: string; has: string[] };
const CASES: Record<string, { code: 'YALB_ERR_CONFIG_INVALID' | 'YALB_ERR_CONFIG_READ'; issues: Expect[] }> = {
  'yaml-syntax-error.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 4, col: 9, path: '', has: ['YAML syntax error', 'never closed', 'missing "'] },
  ] },
  'bad-indent.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 3, col: 10, path: '', has: ['YAML syntax error', 'check the indentation'] },
    { line: 3, col: 10, path: '', has: ['YAML syntax error', 'check the indentation of line 4'] },
  ] },
  'duplicate-key.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 5, col: 1, path: '', has: ['duplicate key "strategy"'] },
  ] },
  'unknown-key-top.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 5, col: 1, path: 'stratgy', has: ['unknown key "stratgy"', 'did you mean "strategy"?'] },
  ] },
  'unknown-key-backend.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 7, col: 5, path: 'backends.2.weigth', has: ['unknown key "weigth" (did you mean "weight"?)'] },
  ] },
  'wrong-type.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 4, col: 13, path: 'backends.0.weight', has: ['expected integer, got string "abc"'] },
  ] },
  'bad-url.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 4, col: 10, path: 'backends.1.url', has: ['http:// or https://', 'ftp:'] },
  ] },
  'duplicate-backend.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 4, col: 10, path: 'backends.1.url', has: ['duplicate backend http://localhost:3031', 'backends[0]'] },
  ] },
  'empty-pool.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 2, col: 11, path: 'backends', has: ['at least one backend is required'] },
  ] },
  'missing-backends.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 1, col: 1, path: '', has: ['missing required key "backends"'] },
  ] },
  'bad-duration.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 5, col: 13, path: 'healthCheck.interval', has: ['expected a duration like "500ms"', 'got string "5 sec"'] },
  ] },
  'bad-strategy.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 2, col: 11, path: 'strategy', has: ['unknown value "round-robbin"', 'did you mean "round-robin"?', 'round-robin, weighted-round-robin, least-connections, random-two, ip-hash, hash'] },
  ] },
  'not-a-mapping.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 2, col: 1, path: '', has: ['expected a mapping', 'got a list'] },
  ] },
  'empty.yaml': { code: 'YALB_ERR_CONFIG_READ', issues: [
    { line: 1, col: 1, path: '', has: ['file is empty: expected a mapping with at least "backends:"'] },
  ] },
  'several-errors.yaml': { code: 'YALB_ERR_CONFIG_INVALID', issues: [
    { line: 2, col: 9, path: 'listen', has: ['port must be 0..65535, got 99999'] },
    { line: 5, col: 13, path: 'backends.0.weight', has: ['must be at least 1, got 0'] },
    { line: 7, col: 3, path: 'retry.maxAtempts', has: ['unknown key "maxAtempts"', 'did you mean "maxAttempts"?'] },
    { line: 9, col: 12, path: 'timeouts.connect', has: ['expected a duration', 'got string "fast"'] },
  ] },
};

describe('loadConfig: one fixture per problem, exact line:col', () => {
  for (const [name, want] of Object.entries(CASES)) {
    it(name, async () => {
      const file = fixture(name);
      const r = failed(await loadConfig(file));
      assert.equal(r.code, want.code);
      const got = r.issues.map((i) => `${i.line}:${i.col} [${i.path}] ${i.message}`);
      assert.equal(r.issues.length, want.issues.length, `issues:\n${got.join('\n')}`);
      want.issues.forEach((w, k) => {
        const i = r.issues[k]!;
        assert.equal(i.file, file);
        assert.deepEqual([i.line, i.col, i.path], [w.line, w.col, w.path], got[k]);
        for (const frag of w.has) assert.ok(i.message.includes(frag), `"${i.message}" should include ${frag}`);
      });
    });
  }

  it('formatIssue prints file:line:col: path: message, as the contract shows it', async () => {
    const r = failed(parseConfigText(readFileSync(fixture('unknown-key-backend.yaml'), 'utf8'), 'lb.yaml'));
    assert.equal(formatIssue(r.issues[0]!), 'lb.yaml:7:5: backends.2.weigth: unknown key "weigth" (did you mean "weight"?)');
    const root = failed(await loadConfig(fixture('missing-backends.yaml')));
    assert.equal(formatIssue({ ...root.issues[0]!, file: 'lb.yaml' }), 'lb.yaml:1:1: missing required key "backends"');
  });

  it('a missing nested key points at the mapping that lacks it', () => {
    const r = failed(parseConfigText('backends:\n  - weight: 2\nadmin:\n  allowRemote: false\n', 'lb.yaml'));
    assert.deepEqual(r.issues.map(formatIssue), [
      'lb.yaml:2:5: backends.0: missing required key "url"',
      'lb.yaml:3:1: admin: missing required key "listen"',
    ]);
  });
});

describe('loadConfig: valid files', () => {
  it('valid-minimal gets the seed defaults', async () => {
    const r = await loadConfig(fixture('valid-minimal.yaml'));
    assert.ok(r.ok, JSON.stringify(r));
    const c = r.config;
    assert.deepEqual(c.backends, [{ url: 'http://127.0.0.1:3031', weight: 1, drain: false }]);
    assert.equal(c.strategy, 'round-robin');
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 3030 });
    assert.deepEqual([c.retry.sameBackend, c.retry.delay, c.retry.maxAttempts], [3, 10, 3]);
    assert.deepEqual([c.healthCheck.interval, c.healthCheck.timeout, c.healthCheck.path], [20_000, 2_000, undefined]);
    assert.deepEqual([c.healthCheck.rise, c.healthCheck.fall], [2, 3]);
    assert.deepEqual([c.timeouts.connect, c.timeouts.response], [5_000, 60_000]);
    assert.equal(r.text, readFileSync(fixture('valid-minimal.yaml'), 'utf8'));
  });

  it('valid-full validates and sets every key the schema knows', async () => {
    const r = await loadConfig(fixture('valid-full.yaml'));
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    // Walk the JSON Schema (it mirrors the zod schema) and the YAML side by side.
    const missing: string[] = [];
    const walk = (schema: Record<string, any>, value: unknown, path: string): void => {
      if (schema.type === 'array' && Array.isArray(value)) {
        for (const v of value) walk(schema.items, v, `${path}[]`);
        return;
      }
      if (!schema.properties || typeof value !== 'object' || value === null) return;
      for (const [k, sub] of Object.entries<Record<string, any>>(schema.properties)) {
        if (!(k in value)) missing.push(`${path}${k}`);
        else walk(sub, (value as Record<string, unknown>)[k], `${path}${k}.`);
      }
    };
    walk(lbJsonSchema(), parseYaml(r.text), '');
    assert.deepEqual(missing, []);
  });
});

describe('loadConfig: file problems are issues at 1:1 with code YALB_ERR_CONFIG_READ', () => {
  it('missing file', async () => {
    const r = failed(await loadConfig(join(FIXTURES, 'no-such-file.yaml')));
    assert.equal(r.code, 'YALB_ERR_CONFIG_READ');
    assert.deepEqual(r.issues.map((i) => [i.line, i.col, i.message]), [[1, 1, 'no such file']]);
    assert.equal(r.hash, undefined);
  });

  it('a directory', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'lb.yaml'));
    const r = failed(await loadConfig(join(dir, 'lb.yaml')));
    assert.equal(r.code, 'YALB_ERR_CONFIG_READ');
    assert.match(r.issues[0]!.message, /is a directory/);
  });

  it('unreadable (EACCES)', { skip: process.getuid?.() === 0 ? 'root can read a mode-000 file' : false }, async (t) => {
    const file = join(tempDir(t), 'lb.yaml');
    writeFileSync(file, readFileSync(fixture('valid-minimal.yaml')));
    chmodSync(file, 0o000);
    const r = failed(await loadConfig(file));
    assert.match(r.issues[0]!.message, /permission denied/);
  });

  it('binary (a NUL byte)', async (t) => {
    const file = join(tempDir(t), 'lb.yaml');
    writeFileSync(file, Buffer.from('backends:\n\0\x01\x02'));
    const r = failed(await loadConfig(file));
    assert.equal(r.code, 'YALB_ERR_CONFIG_READ');
    assert.deepEqual([r.issues[0]!.line, r.issues[0]!.col], [1, 1]);
    assert.match(r.issues[0]!.message, /binary \(NUL byte at offset 10\)/);
    assert.ok(r.hash);
  });

  it('not UTF-8', async (t) => {
    const file = join(tempDir(t), 'lb.yaml');
    writeFileSync(file, Buffer.from([0x62, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    assert.match(failed(await loadConfig(file)).issues[0]!.message, /not valid UTF-8/);
  });

  it('huge (> 1 MiB) is refused before it is read', async (t) => {
    const file = join(tempDir(t), 'lb.yaml');
    writeFileSync(file, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\nbackends:\n  - url: http://127.0.0.1:3031\n`);
    const r = failed(await loadConfig(file));
    assert.equal(r.code, 'YALB_ERR_CONFIG_READ');
    assert.match(r.issues[0]!.message, /too large \(\d+ bytes; the limit is 1048576 bytes = 1 MiB\)/);
    assert.equal(r.hash, undefined, 'never read, so never hashed');
    assert.equal(failed(parseConfigText(readFileSync(file, 'utf8'), 'x.yaml')).code, 'YALB_ERR_CONFIG_READ');
  });

  it('YAML that is only comments or "---" is empty', () => {
    for (const text of ['', '   \n\n', '# just a comment\n', '---\n']) {
      const r = failed(parseConfigText(text, 'lb.yaml'));
      assert.equal(r.code, 'YALB_ERR_CONFIG_READ', JSON.stringify(text));
      assert.match(r.issues[0]!.message, /^file is empty/);
    }
  });

  it('a scalar at the top level is not a mapping', () => {
    const r = failed(parseConfigText('hello\n', 'lb.yaml'));
    assert.equal(formatIssue(r.issues[0]!), 'lb.yaml:1:1: expected a mapping of settings at the top level (like "backends:"), got a single value ("hello")');
  });

  it('an unresolved alias and an alias bomb become issues, not exceptions', () => {
    assert.match(failed(parseConfigText('backends: *nope\n', 'lb.yaml')).issues[0]!.message, /^YAML: Unresolved alias/);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => {
      const prev = 'abcdefgh'[i];
      return `${k}: &${k} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
    })].join('\n');
    assert.match(failed(parseConfigText(bomb, 'lb.yaml')).issues[0]!.message, /^YAML: .*alias/i);
  });
});

describe('hash and errors', () => {
  it('the hash is sha256 of the raw bytes, changes with content, and is kept on failure', async (t) => {
    const file = join(tempDir(t), 'lb.yaml');
    const text = readFileSync(fixture('valid-minimal.yaml'), 'utf8');
    writeFileSync(file, text);
    const a = await loadConfig(file);
    assert.ok(a.ok);
    assert.equal(a.hash, createHash('sha256').update(text).digest('hex'));
    assert.equal(parseConfigText(text, 'other-name.yaml').hash, a.hash);
    writeFileSync(file, `${text}# a comment changes the bytes\n`);
    const b = await loadConfig(file);
    assert.ok(b.ok);
    assert.notEqual(b.hash, a.hash);
    writeFileSync(file, 'backends: [\n');
    const c = failed(await loadConfig(file));
    assert.equal(c.hash, createHash('sha256').update('backends: [\n').digest('hex'));
  });

  it('configError picks the error class and code; the message lists every issue', async () => {
    const invalid = configError(failed(await loadConfig(fixture('several-errors.yaml'))));
    assert.ok(invalid instanceof ConfigInvalidError);
    assert.equal(invalid.code, 'YALB_ERR_CONFIG_INVALID');
    assert.equal(invalid.issues.length, 4);
    assert.equal(invalid.message.split('\n').length, 4);
    const read = configError(failed(await loadConfig(fixture('empty.yaml'))));
    assert.ok(read instanceof ConfigReadError);
    assert.equal(read.code, 'YALB_ERR_CONFIG_READ');
  });
});

describe('loadConfig: every duration and size within what Node can honour; 0 means off or is refused', () => {
  const base = 'backends:\n  - url: http://127.0.0.1:3031\n';
  const cases: Array<[string, string]> = [
    ['timeouts:\n  response: 1000h\n', 'timeouts.response: at most 24d'],
    ['healthCheck:\n  interval: 1000h\n', 'healthCheck.interval: at most 24d'],
    ['healthCheck:\n  interval: 0\n', 'healthCheck.interval: must be at least 100 ms'],
    ['healthCheck:\n  interval: 99ms\n', 'healthCheck.interval: must be at least 100 ms'],
    ['healthCheck:\n  timeout: 0s\n', 'healthCheck.timeout: must be at least 1 ms'],
    ['retry:\n  bufferLimit: 99999999999GiB\n', 'retry.bufferLimit: at most 1024 MiB'],
    ['timeouts:\n  clientIdle: 720h\n', 'timeouts.clientIdle: at most 24d'],
  ];
  for (const [yaml, message] of cases) {
    it(JSON.stringify(yaml), () => {
      const r = failed(parseConfigText(base + yaml, 'lb.yaml'));
      assert.ok(r.issues.some((i) => formatIssue(i).includes(message) && i.line > 1), r.issues.map(formatIssue).join('\n'));
    });
  }
  it('timeouts of 0 are accepted and mean off', () => {
    const r = parseConfigText(`${base}timeouts:\n  connect: 0\n  response: 0\n  idle: 0\n  clientIdle: 0\n`, 'lb.yaml');
    assert.ok(r.ok, JSON.stringify(r));
  });
});
