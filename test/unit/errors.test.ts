/**
 * Keeps the error codes and the README's table in step (fastify's
 * errors.test.js trick): every declared code is documented, every documented
 * code exists, and every code the source uses is declared.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCodes, YalbError } from '../../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function srcFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? srcFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every code is in the README table and every README code exists', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `(YALB_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  const declared = new Set(Object.keys(ErrorCodes));
  assert.deepEqual([...declared].filter((c) => !documented.has(c)), [], 'declared but not in the README');
  assert.deepEqual([...documented].filter((c) => !declared.has(c as string)), [], 'in the README but not declared');
});

test('every code used in src/ is declared, and every declared code is used', () => {
  const declared = new Set(Object.keys(ErrorCodes));
  const used = new Set<string>();
  for (const f of srcFiles(path.join(ROOT, 'src'))) {
    if (f.endsWith('errors.ts')) continue;
    for (const m of readFileSync(f, 'utf8').matchAll(/YALB_ERR_[A-Z_]+/g)) used.add(m[0]);
  }
  assert.deepEqual([...used].filter((c) => !declared.has(c)), [], 'used but not declared');
  assert.deepEqual([...declared].filter((c) => !used.has(c)), [], 'declared but never used');
});

test('YalbError carries its code and cause', () => {
  const cause = new Error('low');
  const e = new YalbError('YALB_ERR_LISTEN', 'cannot listen', { cause });
  assert.equal(e.code, 'YALB_ERR_LISTEN');
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
});
