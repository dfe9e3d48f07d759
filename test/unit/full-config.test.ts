/**
 * config/lb.full.yaml validates and names every key of the schema, so the
 * annotated reference cannot fall behind the code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { lbJsonSchema } from '../../src/config/json-schema.js';
import { loadConfig } from '../../src/config/load.js';

const FULL = path.resolve(import.meta.dirname, '../../config/lb.full.yaml');

interface Node { properties?: Record<string, Node>; items?: Node; anyOf?: Node[] }

function schemaPaths(node: Node, prefix: string, out: string[]): string[] {
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    schemaPaths(v, p, out);
    if (v.items) schemaPaths(v.items, `${p}[]`, out);
    for (const alt of v.anyOf ?? []) schemaPaths(alt, p, out);
  }
  return out;
}

test('config/lb.full.yaml validates', async () => {
  const r = await loadConfig(FULL);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
});

test('config/lb.full.yaml names every key of the schema (set or commented)', () => {
  const text = readFileSync(FULL, 'utf8');
  // Uncomment "# key: value" lines so documented-but-off keys count too.
  const doc = parse(text.replace(/^(\s*)# (\w+: )/gm, '$1$2')) as Record<string, unknown>;
  const has = (p: string): boolean => {
    let cur: unknown = doc;
    for (const part of p.split('.')) {
      const key = part.replace('[]', '');
      cur = (cur as Record<string, unknown> | undefined)?.[key];
      if (part.endsWith('[]')) cur = (cur as unknown[] | undefined)?.[0];
      if (cur === undefined) return false;
    }
    return true;
  };
  const missing = schemaPaths(lbJsonSchema() as Node, '', []).filter((p) => !has(p));
  assert.deepEqual(missing, []);
});
