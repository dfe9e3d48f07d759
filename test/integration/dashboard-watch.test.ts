/**
 * `yalb status --watch` (issue 16): spawned against a real daemon, piped
 * (not a terminal): at least two refreshes, no escape sequence, a backend
 * that goes down shows as down; Ctrl-C (SIGINT) ends it with exit 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { exited, spawnCli } from '../helpers/cli.js';
import { startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

test('yalb status --watch refreshes every second until Ctrl-C', async (t) => {
  const bs = await startBackends(t, 2);
  const { daemon, file } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), 'admin:\n  listen: 127.0.0.1:0\nhealthCheck:\n  interval: 200ms\n  timeout: 150ms\n  rise: 1\n  fall: 1\n'), { watch: false });
  // The file must name the admin port the daemon really bound.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, yamlConfig(bs.map((b) => b.url), `admin:\n  listen: 127.0.0.1:${daemon.adminAddress!.port}\n`));
  const child = spawnCli(t, ['status', '--watch', '-c', file]);
  const frames = () => child.output().split('refreshed ').length - 1;
  await waitFor(() => frames() >= 2, { timeoutMs: 10_000, what: 'two refreshes' });
  const out = child.output();
  assert.doesNotMatch(out, /\x1b\[/, 'piped output has no escape sequence');
  assert.match(out, /pool default \(round-robin\): 2\/2 up/);
  assert.match(out, /last minute: /);
  for (const b of bs) assert.ok(out.includes(b.url));

  await bs[1]!.stop();
  await waitFor(() => /pool default \(round-robin\): 1\/2 up/.test(child.output().split('refreshed ').at(-2) ?? ''), { timeoutMs: 10_000, what: 'a frame with the backend down' });

  child.kill('SIGINT');
  const { code, signal } = await exited(child);
  assert.equal(signal, null);
  assert.equal(code, 0);
});
