/**
 * Hot reload of files that should not change anything, or cannot (issue 3):
 * unchanged bytes are ignored, an invalid or emptied file keeps the old
 * pool serving and is reported as file:line:col in lastReload and /status,
 * a file fixed afterwards is applied, a deleted file keeps the old config
 * (with a warning) until it comes back; the reload counters follow.
 */
import assert from 'node:assert/strict';
import { unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Daemon } from '../../src/daemon/daemon.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';
import { answers, lbYaml, waitForBackend, waitForLog } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

const SERVE_MS = 3000;

/** reloadCount reads yalb_config_reloads_total{result} from the daemon's /metrics text. */
async function reloadCount(daemon: Daemon, result: 'success' | 'failure'): Promise<number> {
  const m = new RegExp(`^yalb_config_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(await daemon.metrics.text());
  assert.ok(m, `yalb_config_reloads_total{result="${result}"} in /metrics`);
  return Number(m[1]);
}

/** failedWith waits until lastReload is a failure and returns its errors. */
async function failedWith(daemon: Daemon): Promise<string[]> {
  const last = await waitFor(() => (daemon.reloader.lastReload?.ok === false ? daemon.reloader.lastReload : undefined), {
    timeoutMs: SERVE_MS, what: 'a failed reload',
  });
  return last.errors;
}

test('unchanged content is ignored: touch and a rewrite of the same bytes apply nothing (issue 3)', async (t) => {
  const [b1] = await startBackends(t, 1);
  const text = lbYaml([b1!.url]);
  const { daemon, file, logs } = await startTestDaemon(t, text);
  let from = logs.lines.length;
  const now = new Date(Date.now() + 5000);
  utimesSync(file, now, now); // touch: new mtime, same bytes
  await waitForLog(logs.lines, 'content unchanged, ignored', from);
  from = logs.lines.length;
  writeFileSync(file, text); // a save without edits
  await waitForLog(logs.lines, 'content unchanged, ignored', from);
  assert.equal(logs.lines.some((l) => l.includes('reload applied')), false, 'no "reload applied" line');
  assert.equal(daemon.current.number, 1);
  assert.equal(daemon.reloader.applied, 0);
  assert.equal(await reloadCount(daemon, 'success'), 0);
});

test('an invalid file keeps the old pool serving and is reported as file:line:col, in /status too; the fix is applied (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url, logs } = await startTestDaemon(t, lbYaml([b1!.url]));
  // Line 2, column 11: the value of strategy.
  writeFileSync(file, lbYaml([b2!.url], { strategy: 'round-robbin' }));
  const errors = await failedWith(daemon);
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:11: strategy: unknown value "round-robbin" \\(did you mean "round-robin"\\?\\)`));
  const status = daemon.status() as { generation: number; lastReload: unknown; backends: Array<{ url: string }> };
  assert.deepEqual(status.lastReload, daemon.reloader.lastReload);
  assert.equal(status.generation, 1);
  assert.deepEqual(status.backends.map((b) => b.url), [b1!.url]);
  assert.deepEqual(await answers(url, 4), ['b1', 'b1', 'b1', 'b1']);
  assert.ok(logs.has(':2:11: strategy: unknown value'), 'the error is logged as file:line:col');
  assert.equal(await reloadCount(daemon, 'failure'), 1);

  // A schema error deeper in the file: line 4, column 13 (the weight's value).
  writeFileSync(file, lbYaml([b2!.url], { weights: [0] }));
  await waitFor(() => daemon.reloader.lastReload?.ok === false && daemon.reloader.lastReload.errors[0]?.includes(':4:13: backends.0.weight: must be at least 1'), {
    timeoutMs: SERVE_MS, what: 'the weight error at 4:13',
  });
  assert.equal(await reloadCount(daemon, 'failure'), 2);
  assert.match(await daemon.metrics.text(), /^yalb_config_last_reload_successful 0$/m);
  assert.deepEqual(await answers(url, 2), ['b1', 'b1']);

  writeFileSync(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  assert.equal(daemon.reloader.lastReload?.ok, true);
  assert.equal(daemon.current.number, 2);
  assert.equal(await reloadCount(daemon, 'success'), 1);
  assert.equal(await reloadCount(daemon, 'failure'), 2);
  assert.ok(Number(/^yalb_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(await daemon.metrics.text())?.[1]) > 0);
  const text = await daemon.metrics.text();
  assert.match(text, /^yalb_config_last_reload_successful 1$/m);
  assert.match(text, new RegExp(`^yalb_build_info\\{version="[^"]+",engine="${daemon.current.engine.name}",config_hash="${daemon.current.hash.slice(0, 12)}"\\} 1$`, 'm'));
});

test('an emptied file keeps the old config (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  writeFileSync(file, '');
  const errors = await failedWith(daemon);
  assert.deepEqual(errors, [`${file}:1:1: file is empty: expected a mapping with at least "backends:"`]);
  assert.equal(daemon.current.number, 1);
  assert.deepEqual(await answers(url, 3), ['b1', 'b1', 'b1']);
  writeFileSync(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
});

test('a deleted file keeps the old config and warns; recreating it is picked up (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url, logs } = await startTestDaemon(t, lbYaml([b1!.url]));
  const from = logs.lines.length;
  unlinkSync(file);
  const warning = await waitForLog(logs.lines, 'is gone; keeping the running config', from);
  assert.match(warning, /"level":"warn"/);
  assert.deepEqual(await answers(url, 3), ['b1', 'b1', 'b1']);
  assert.equal(daemon.current.number, 1);
  writeFileSync(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  assert.equal(daemon.current.number, 2);
  const r = await request(url);
  assert.equal(r.status, 200);
});
