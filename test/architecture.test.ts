/**
 * Holds the code to DESIGN.md §3.2: which module may import which. Reads
 * every src/**.ts, pulls out its import specifiers and checks them against
 * the table below. A new back edge fails here with the file and the import.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');

/** The room of a file: its first folder under src/, or its base name for top-level files. */
function roomOf(file: string): string {
  const rel = path.relative(SRC, file);
  const parts = rel.split(path.sep);
  return parts.length > 1 ? (parts[0] as string) : rel.replace(/\.ts$/, '');
}

/** What each room may import from src/ (type-only imports of config are allowed everywhere below). */
const ALLOWED: Record<string, string[]> = {
  errors: [],
  version: [],
  config: ['errors', 'config'],
  pool: ['errors', 'config', 'pool'],
  health: ['pool', 'config', 'errors', 'log', 'health'],
  proxy: ['pool', 'config', 'errors', 'log', 'proxy'],
  reload: ['config', 'pool', 'errors', 'log', 'reload'],
  admin: ['pool', 'errors', 'log', 'admin'],
  log: ['log'],
  daemon: ['errors', 'config', 'pool', 'health', 'proxy', 'reload', 'admin', 'log', 'daemon', 'version'],
  cli: ['daemon', 'config', 'errors', 'cli', 'version'],
  index: ['daemon', 'config', 'log', 'errors'],
};

/** Packages a room must not import. */
const FORBIDDEN_PACKAGES: Record<string, RegExp> = {
  config: /^(winston|chokidar|http-proxy-3|prom-client|node:http|node:net)$/,
  pool: /^(winston|chokidar|http-proxy-3|prom-client|node:http|node:https|node:net)$/,
  proxy: /^(chokidar|yaml|prom-client)$/,
  health: /^(chokidar|http-proxy-3|prom-client)$/,
  reload: /^(http-proxy-3|prom-client)$/,
  admin: /^(chokidar|http-proxy-3|yaml)$/,
};

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): Array<{ spec: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const out: Array<{ spec: string; typeOnly: boolean }> = [];
  const re = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ spec: m[3] as string, typeOnly: Boolean(m[2]) });
  const dyn = /import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = dyn.exec(text); m; m = dyn.exec(text)) out.push({ spec: m[1] as string, typeOnly: false });
  return out;
}

test('every import follows DESIGN.md §3.2', () => {
  const problems: string[] = [];
  for (const file of walk(SRC)) {
    const room = roomOf(file);
    const allowed = ALLOWED[room];
    assert.ok(allowed, `${path.relative(SRC, file)}: room "${room}" is not in the architecture table`);
    for (const { spec, typeOnly } of imports(file)) {
      if (spec.startsWith('.')) {
        const target = roomOf(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
        const ok = allowed.includes(target) || (typeOnly && target === 'config');
        if (!ok) problems.push(`${path.relative(SRC, file)} imports ${spec} (room ${room} → ${target})`);
      } else if (FORBIDDEN_PACKAGES[room]?.test(spec)) {
        problems.push(`${path.relative(SRC, file)} imports package ${spec}, which room ${room} must not use`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('only src/cli.ts calls process.exit; no module exports a mutable logger', () => {
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8');
    if (path.relative(SRC, file) !== 'cli.ts') {
      assert.ok(!/process\.exit\(/.test(text), `${path.relative(SRC, file)} calls process.exit`);
    }
    assert.ok(!/export\s+(let|var)\s/.test(text), `${path.relative(SRC, file)} exports a mutable binding`);
  }
});
