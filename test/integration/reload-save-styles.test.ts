/**
 * Hot reload, one test per way lb.yaml gets saved (issue 3): each asserts
 * that the new pool serves (the new backend answers, the old one no longer
 * does) within a deadline. For the styles that replace the inode (rename,
 * ConfigMap swap, git), a second change is checked too: a watch that
 * follows the first inode would miss it. Only chokidar events count here
 * (watchPollMs: 0), except in the test of the poll itself.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { startTestDaemon, tempDir } from '../helpers/daemon.js';
import {
  ConfigMapDir, GitConfigRepo, answers, deleteAndRecreate, hasGit, lbYaml, saveByRename, saveInPlace, saveInTwoChunks,
  saveVimStyle, waitForBackend, waitForLog,
} from '../helpers/reload.js';

/** SERVE_MS bounds "the new pool serves": the issue asks for about 1 s; the margin is for a busy 2-core machine. */
const SERVE_MS = 3000;

async function servesOnly(url: string, name: string): Promise<void> {
  assert.deepEqual(await answers(url, 4), [name, name, name, name]);
}

test('in-place writeFileSync is applied (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  await servesOnly(url, 'b1');
  saveInPlace(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  await servesOnly(url, 'b2');
  assert.equal(daemon.current.number, 2);
});

test('a write in two chunks is applied once whole; the half-written file never is (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  const text = `# new pool\n${lbYaml([b2!.url], { extra: 'retry:\n  maxAttempts: 2\n' })}`;
  // Cut inside "url:": the first half is "backends: [ 'ur' ]", which the schema rejects.
  const splitAt = text.indexOf('url:') + 2;
  // The pause is longer than the watcher's debounce, so the half is seen.
  await saveInTwoChunks(file, text, splitAt, 250);
  await waitForBackend(url, 'b2', SERVE_MS);
  await servesOnly(url, 'b2');
  assert.equal(daemon.current.number, 2, 'exactly one reload applied: the whole file');
  assert.equal(daemon.reloader.applied, 1);
  assert.equal(daemon.current.hash, createHash('sha256').update(text).digest('hex'));
  assert.equal(daemon.current.config.retry.maxAttempts, 2);
  assert.equal(daemon.reloader.lastReload?.ok, true);
});

test('atomic rename over the file is applied, and so is a second one (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  saveByRename(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  await servesOnly(url, 'b2');
  saveByRename(file, lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  await servesOnly(url, 'b3');
  assert.equal(daemon.current.number, 3);
});

test('vim-style save (rename to lb.yaml~, write, unlink backup) is applied, twice (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  saveVimStyle(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  saveVimStyle(file, lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  await servesOnly(url, 'b3');
  assert.equal(daemon.current.number, 3);
});

test('delete then recreate at once (rm && cp) is applied, twice (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]));
  deleteAndRecreate(file, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  deleteAndRecreate(file, lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  await servesOnly(url, 'b3');
  assert.equal(daemon.current.number, 3);
});

test('git checkout between two commits is applied, both ways (issue 3)', { skip: !hasGit() && 'git is not installed' }, async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const repo = new GitConfigRepo(dir).init([lbYaml([b1!.url]), lbYaml([b2!.url])]);
  repo.checkout(0);
  const { daemon, url } = await startTestDaemon(t, lbYaml([b1!.url]), { dir });
  await servesOnly(url, 'b1');
  repo.checkout(1);
  await waitForBackend(url, 'b2', SERVE_MS);
  await servesOnly(url, 'b2');
  repo.checkout(0);
  await waitForBackend(url, 'b1', SERVE_MS);
  await servesOnly(url, 'b1');
  assert.equal(daemon.current.number, 3);
});

test('Kubernetes ConfigMap symlink swap is applied, and so is a second swap (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const dir = tempDir(t);
  const cm = new ConfigMapDir(dir).init(lbYaml([b1!.url]));
  // startTestDaemon writes the same text through the symlinks: no change.
  const { daemon, url } = await startTestDaemon(t, lbYaml([b1!.url]), { dir });
  await servesOnly(url, 'b1');
  cm.swap(lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  await servesOnly(url, 'b2');
  cm.swap(lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  await servesOnly(url, 'b3');
  assert.equal(daemon.current.number, 3);
});

test('a symlink to a file in another directory: in-place edits of the target are applied (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const dir = tempDir(t);
  const elsewhere = tempDir(t);
  const real = path.join(elsewhere, 'real.yaml');
  writeFileSync(real, lbYaml([b1!.url]));
  symlinkSync(real, path.join(dir, 'lb.yaml'));
  const { daemon, url } = await startTestDaemon(t, lbYaml([b1!.url]), { dir });
  saveInPlace(real, lbYaml([b2!.url]));
  await waitForBackend(url, 'b2', SERVE_MS);
  saveByRename(real, lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  assert.equal(daemon.current.number, 3);
});

test('SIGHUP path: daemon.reload("SIGHUP") applies the file without any watcher (issue 3)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, lbYaml([b1!.url]), { watch: false });
  saveInPlace(file, lbYaml([b2!.url]));
  // No watcher: nothing changes until the signal.
  await servesOnly(url, 'b1');
  const r = await daemon.reload('SIGHUP');
  assert.equal(r.ok && r.applied, true, JSON.stringify(r));
  // Applied means swapped: the very next request goes to the new pool.
  await servesOnly(url, 'b2');
  assert.equal(daemon.current.number, 2);
  assert.equal(daemon.reloader.lastReload?.trigger, 'SIGHUP');
  const again = await daemon.reload('SIGHUP');
  assert.deepEqual(again, { ok: true, applied: false, hash: daemon.current.hash, changes: [] });
});

test('safety-net poll: a replaced config directory is picked up, then watched again (issue 3)', async (t) => {
  const [b1, b2, b3] = await startBackends(t, 3);
  const parent = tempDir(t);
  const dir = path.join(parent, 'conf');
  mkdirSync(dir);
  const { daemon, file, url, logs } = await startTestDaemon(t, lbYaml([b1!.url]), { dir, watchPollMs: 150 });
  // The directory is swapped as a whole: chokidar keeps watching the old inode.
  const staged = path.join(parent, 'conf.new');
  mkdirSync(staged);
  writeFileSync(path.join(staged, 'lb.yaml'), lbYaml([b2!.url]));
  renameSync(dir, path.join(parent, 'conf.old'));
  renameSync(staged, dir);
  // conf.old stays (removing it would make chokidar's watch on the old file fire by luck).
  await waitForBackend(url, 'b2', SERVE_MS);
  assert.match(daemon.reloader.lastReload?.trigger ?? '', /poll/);
  // Re-armed on the new directory: the next save is a chokidar event again.
  await waitForLog(logs.lines, 'watching it again');
  saveInPlace(file, lbYaml([b3!.url]));
  await waitForBackend(url, 'b3', SERVE_MS);
  assert.match(daemon.reloader.lastReload?.trigger ?? '', /change lb\.yaml/);
});
