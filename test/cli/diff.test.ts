/**
 * `yalb diff` (issue 16) against a real daemon: exit 0 on no change, 1 with
 * the changes in words (backends added and removed, strategy, timeouts),
 * 2 on an invalid file (with file:line:col) and when no daemon answers;
 * `-c -` reads stdin; nothing is ever applied.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { runCli } from '../helpers/cli.js';
import { startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';

test('yalb diff: no change → 0; added and removed backends, strategy, timeouts → 1 with the words; nothing applied', async (t) => {
  const bs = await startBackends(t, 3);
  const [a, b, c] = bs.map((x) => x.url) as [string, string, string];
  const { daemon, file, dir } = await startTestDaemon(t, yamlConfig([a, b], 'admin:\n  listen: 127.0.0.1:0\n'), { watch: false });
  const admin = `127.0.0.1:${daemon.adminAddress!.port}`;

  const same = await runCli(['diff', '-c', file, '--admin', admin]);
  assert.equal(same.code, 0, same.stderr + same.stdout);
  assert.match(same.stdout, /^no change: /);

  const other = path.join(dir, 'next.yaml');
  writeFileSync(other, yamlConfig([a, c], 'admin:\n  listen: 127.0.0.1:0\nstrategy: least-connections\ntimeouts:\n  connect: 2s\n'));
  const changed = await runCli(['diff', '-c', other, '--admin', admin]);
  assert.equal(changed.code, 1, changed.stderr + changed.stdout);
  assert.match(changed.stdout, /changes against the running config/);
  for (const line of [`+1 backend (${c})`, `-1 backend (${b})`, 'strategy round-robin → least-connections', 'timeouts.connect 5s → 2s']) {
    assert.ok(changed.stdout.includes(`  ${line}\n`), `${line} in:\n${changed.stdout}`);
  }
  assert.equal(daemon.current.config.backends.length, 2, 'nothing applied');
  assert.deepEqual(daemon.current.config.backends.map((x) => x.url), [a, b]);

  // Formatting only: a different hash, no effective change.
  writeFileSync(other, `# a comment\n${yamlConfig([a, b], 'admin:\n  listen: 127.0.0.1:0\n')}`);
  const formatting = await runCli(['diff', '-c', other, '--admin', admin]);
  assert.equal(formatting.code, 0, formatting.stdout);
  assert.match(formatting.stdout, /no effective change/);

  // stdin, and --json.
  const piped = await runCli(['diff', '-c', '-', '--admin', admin, '--json'], { input: yamlConfig([a], 'admin:\n  listen: 127.0.0.1:0\n') });
  assert.equal(piped.code, 1, piped.stderr);
  const doc = JSON.parse(piped.stdout) as { changes: string[]; running: { hash: string } };
  assert.deepEqual(doc.changes, [`-1 backend (${b})`]);
  assert.equal(doc.running.hash, daemon.current.hash);
});

test('yalb diff finds the admin API in the file (admin.listen) and sends the token', async (t) => {
  const bs = await startBackends(t, 2);
  const token = 'a-test-token-of-32-characters-xx';
  const { daemon, dir } = await startTestDaemon(t, yamlConfig([bs[0]!.url], `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${token}\n`), { watch: false });
  const port = daemon.adminAddress!.port;
  const next = path.join(dir, 'next.yaml');
  writeFileSync(next, yamlConfig([bs[0]!.url, bs[1]!.url], `admin:\n  listen: 127.0.0.1:${port}\n  allowRemote: true\n  token: ${token}\n`));
  const r = await runCli(['diff', '-c', next]);
  assert.equal(r.code, 1, r.stderr + r.stdout);
  assert.ok(r.stdout.includes(`+1 backend (${bs[1]!.url})`), r.stdout);
  assert.ok(r.stdout.includes('admin.listen 127.0.0.1:0 →'), r.stdout);
  assert.ok(!r.stdout.includes(token), 'the token is never printed');
  const refused = await runCli(['diff', '-c', next], { env: { YALB_ADMIN_TOKEN: 'wrong-token-wrong-token' } });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /401.*YALB_ERR_ADMIN/);
});

test('yalb diff: an invalid file → 2 with file:line:col, no daemon asked', async (t) => {
  const dir = tempDir(t);
  const bad = path.join(dir, 'lb.yaml');
  writeFileSync(bad, 'listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:1\n    weight: heavy\n');
  const r = await runCli(['diff', '-c', bad, '--admin', `127.0.0.1:${await deadPort()}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:13: `));
  assert.match(r.stderr, /YALB_ERR_CONFIG_INVALID/);
  assert.equal(r.stdout, '');
});

test('yalb diff: no running daemon → 2; no admin address → 2; bad usage → 2', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const port = await deadPort();
  writeFileSync(file, yamlConfig(['http://127.0.0.1:1'], `admin:\n  listen: 127.0.0.1:${port}\n`));
  const r = await runCli(['diff', '-c', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`no daemon answers at http://127\\.0\\.0\\.1:${port}/api/config: .*ECONNREFUSED.*YALB_ERR_NOT_RUNNING`));
  writeFileSync(file, yamlConfig(['http://127.0.0.1:1']));
  const noAdmin = await runCli(['diff', '-c', file]);
  assert.equal(noAdmin.code, 2);
  assert.match(noAdmin.stderr, /--admin/);
  assert.equal((await runCli(['diff', '--nope'])).code, 2);
  const help = await runCli(['diff', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit status: 0 no change, 1 changes, 2 error/);
});
