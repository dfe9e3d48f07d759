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
  proxy: ['pool', 'config', 'errors', 'log', 'proxy', 'routes'],
  // routes: the compiled routes: (issue 15), generic over what a route leads to.
  routes: ['routes'],
  // The generation lifecycle (reload/generation.ts) builds probes and binds
  // listeners, so reload reaches health and the proxy's seams (see PROXY_SEAMS).
  reload: ['config', 'pool', 'errors', 'log', 'reload', 'health', 'proxy', 'routes'],
  admin: ['pool', 'errors', 'log', 'admin'],
  log: ['log'],
  // Certificates: loaded, checked and watched (reload/watcher.ts), served by
  // the proxy's listener; the redirect listener hands ACME requests to the handler.
  tls: ['config', 'errors', 'log', 'proxy', 'reload', 'tls'],
  daemon: ['errors', 'config', 'pool', 'health', 'proxy', 'reload', 'admin', 'log', 'daemon', 'version', 'tls', 'routes'],
  // `yalb check` checks the files tls: names the way the daemon does (tls/runtime.ts checkTls).
  cli: ['daemon', 'config', 'errors', 'cli', 'version', 'tls'],
  index: ['daemon', 'config', 'log', 'errors'],
};

/** The only proxy files other rooms may import: the engine seam, the route settings, the listener, the handler. */
const PROXY_SEAMS = new Set(['proxy/engine.ts', 'proxy/settings.ts', 'proxy/server.ts', 'proxy/handle-request.ts', 'proxy/retry-budget.ts']);

/**
 * Pure seams another room may import: `yalb diff` prints the reload's own
 * words for a change (reload/diff.ts is a pure function of two configs).
 */
const PURE_SEAMS: Record<string, string[]> = {
  cli: ['reload/diff.ts'],
};

/** Type-only imports allowed across rooms: the CLI prints the typed /status document. */
const TYPE_ONLY: Record<string, string[]> = {
  cli: ['admin/status.ts'],
  admin: ['tls/store.ts'],
  proxy: ['tls/contexts.ts'],
};

/** Packages a room must not import. */
const FORBIDDEN_PACKAGES: Record<string, RegExp> = {
  config: /^(winston|chokidar|http-proxy-3|prom-client|node:http|node:net)$/,
  pool: /^(winston|chokidar|http-proxy-3|prom-client|node:http|node:https|node:net)$/,
  proxy: /^(chokidar|yaml|prom-client)$/,
  health: /^(chokidar|http-proxy-3|prom-client)$/,
  reload: /^(http-proxy-3|prom-client)$/,
  admin: /^(chokidar|http-proxy-3|yaml)$/,
  tls: /^(http-proxy-3|yaml)$/,
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
        const abs = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        const rel = path.relative(SRC, abs).split(path.sep).join('/');
        const target = roomOf(abs);
        const ok = allowed.includes(target) || (PURE_SEAMS[room] ?? []).includes(rel) || (typeOnly && (target === 'config' || (TYPE_ONLY[room] ?? []).includes(rel)));
        if (!ok) problems.push(`${path.relative(SRC, file)} imports ${spec} (room ${room} → ${target})`);
        if (target === 'proxy' && room !== 'proxy' && !PROXY_SEAMS.has(rel)) {
          problems.push(`${path.relative(SRC, file)} imports ${spec}: outside proxy/ only ${[...PROXY_SEAMS].join(', ')} may be imported`);
        }
      } else if (FORBIDDEN_PACKAGES[room]?.test(spec)) {
        problems.push(`${path.relative(SRC, file)} imports package ${spec}, which room ${room} must not use`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

// The entry points: the CLI, and a cluster worker's process (daemon/worker-main.ts).
const ENTRY_POINTS = new Set(['cli.ts', path.join('daemon', 'worker-main.ts')]);

test('only the entry points (src/cli.ts, a worker\'s main) call process.exit; no module exports a mutable logger', () => {
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8');
    if (!ENTRY_POINTS.has(path.relative(SRC, file))) {
      assert.ok(!/process\.exit\(/.test(text), `${path.relative(SRC, file)} calls process.exit`);
    }
    assert.ok(!/export\s+(let|var)\s/.test(text), `${path.relative(SRC, file)} exports a mutable binding`);
  }
});

test('only proxy/engine.ts picks an engine: engines/* and their libraries are imported nowhere else', () => {
  const problems: string[] = [];
  for (const file of walk(SRC)) {
    const rel = path.relative(SRC, file).split(path.sep).join('/');
    const inEngines = rel.startsWith('proxy/engines/');
    for (const { spec } of imports(file)) {
      const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') : spec;
      if (target.startsWith('proxy/engines/') && !inEngines && rel !== 'proxy/engine.ts') problems.push(`${rel} imports ${spec}`);
      if ((spec === 'http-proxy-3' || spec === 'undici') && !inEngines) problems.push(`${rel} imports package ${spec} outside proxy/engines/`);
    }
  }
  assert.deepEqual(problems, []);
});

test('backend state has one writer: only src/pool/ assigns to a backend\'s state or traffic counters', () => {
  // BackendState (health) and BackendTraffic (live counters) are read
  // everywhere but written only by the Pool (begin/end, the HealthSink
  // methods) and the pure health-state functions it calls.
  const write = /\b(state|traffic)\.\w+\s*(\+\+|--|[-+*/]?=(?!=))|(\+\+|--)\s*(\w+\.)*(state|traffic)\.\w+/;
  const problems: string[] = [];
  for (const file of walk(SRC)) {
    const rel = path.relative(SRC, file).split(path.sep).join('/');
    if (rel.startsWith('pool/')) continue;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (write.test(line)) problems.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
});
