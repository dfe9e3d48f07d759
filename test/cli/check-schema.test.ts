/**
 * `yalb check` and `yalb schema`, spawned as a user runs them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

const FIX = path.resolve(import.meta.dirname, '../fixtures/config');

test('check: a valid file exits 0 and says ok', async () => {
  const r = await runCli(['check', '-c', path.join(FIX, 'valid-minimal.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid-minimal\.yaml: ok/);
});

test('check: an invalid file exits 1 and prints file:line:col: lines', async () => {
  const r = await runCli(['check', '-c', path.join(FIX, 'several-errors.yaml')]);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 3, r.stderr);
  for (const l of lines) assert.match(l, /several-errors\.yaml:\d+:\d+: /);
});

test('check: --format json and github', async () => {
  const j = await runCli(['check', '--format', 'json', '-c', path.join(FIX, 'unknown-key-backend.yaml')]);
  assert.equal(j.code, 1);
  const doc = JSON.parse(j.stdout) as { ok: boolean; issues: Array<{ line: number; col: number }> };
  assert.equal(doc.ok, false);
  assert.ok(doc.issues[0]!.line > 0);
  const g = await runCli(['check', '--format', 'github', '-c', path.join(FIX, 'unknown-key-backend.yaml')]);
  assert.equal(g.code, 1);
  assert.match(g.stdout, /^::error file=.*unknown-key-backend\.yaml,line=\d+,col=\d+::/m);
});

test('check: bad usage exits 2; a missing file exits 1', async () => {
  assert.equal((await runCli(['check', '--bogus'])).code, 2);
  assert.equal((await runCli(['nonsense'])).code, 2);
  const missing = await runCli(['check', '-c', '/nonexistent/lb.yaml']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /lb\.yaml:1:1:/);
});

test('every command has --help (exit 0)', async () => {
  for (const cmd of ['start', 'check', 'schema', 'reload', 'stop', 'status']) {
    const r = await runCli([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: yalb ${cmd}`));
  }
});

test('schema prints JSON that parses, lists backends, and equals config/lb.schema.json', async () => {
  const r = await runCli(['schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.backends);
  const committed = readFileSync(path.resolve(import.meta.dirname, '../../config/lb.schema.json'), 'utf8');
  assert.equal(r.stdout, committed, 'config/lb.schema.json is stale: run `node dist/cli.js schema > config/lb.schema.json`');
});

test('version and help conventions: yalb version, -V, --version; yalb help <command> is <command> --help', async () => {
  for (const args of [['version'], ['-V'], ['--version']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  }
  const viaHelp = await runCli(['help', 'check']);
  const direct = await runCli(['check', '--help']);
  assert.equal(viaHelp.code, 0);
  assert.equal(viaHelp.stdout, direct.stdout);
});
