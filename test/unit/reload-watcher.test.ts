/**
 * ConfigWatcher and Reloader on their own (issue 3): which directories and
 * names the watch covers for a plain file, a ConfigMap layout and a link
 * to another directory; a burst of writes becomes one candidate; a deleted
 * file says 'missing'; the reloader coalesces queued reloads and never
 * rejects.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import type { LbConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { Reloader, type ReloadTarget } from '../../src/reload/reloader.js';
import { ConfigWatcher, linkChainNames, watchTargets } from '../../src/reload/watcher.js';
import { tempDir } from '../helpers/daemon.js';
import { ConfigMapDir, delay, lbYaml } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

const silent = createLogger({ silent: true });

function plain(targets: Map<string, Set<string>>): Record<string, string[]> {
  return Object.fromEntries([...targets].map(([d, names]) => [d, [...names].sort()]));
}

test('watchTargets: a plain file is its name in its directory', (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'lb.yaml'), 'x: 1\n');
  assert.deepEqual(plain(watchTargets(path.join(dir, 'lb.yaml'))), { [dir]: ['lb.yaml'] });
});

test('watchTargets: a ConfigMap layout adds ..data and the current version directory', (t) => {
  const dir = tempDir(t);
  const cm = new ConfigMapDir(dir).init('x: 1\n');
  assert.deepEqual(plain(watchTargets(cm.file)), {
    [dir]: ['..data', 'lb.yaml'],
    [path.join(dir, '..2026_11_25_a')]: ['lb.yaml'],
  });
  assert.deepEqual([...linkChainNames(cm.file)].sort(), ['..data', 'lb.yaml']);
  cm.swap('x: 2\n');
  assert.deepEqual(plain(watchTargets(cm.file))[path.join(dir, '..2026_11_25_b')], ['lb.yaml']);
});

test('watchTargets: a link to another directory adds the target\'s name there; a link loop ends', (t) => {
  const dir = tempDir(t);
  const other = tempDir(t);
  writeFileSync(path.join(other, 'real.yaml'), 'x: 1\n');
  symlinkSync(path.join(other, 'real.yaml'), path.join(dir, 'lb.yaml'));
  assert.deepEqual(plain(watchTargets(path.join(dir, 'lb.yaml'))), { [dir]: ['lb.yaml'], [other]: ['real.yaml'] });
  symlinkSync('b', path.join(dir, 'a'));
  symlinkSync('a', path.join(dir, 'b'));
  assert.deepEqual(plain(watchTargets(path.join(dir, 'a'))), { [dir]: ['a', 'b'] });
});

/**
 * BURST_DEBOUNCE_MS is the debounce of the burst test: the five writes take
 * about 50 ms, so only an event-loop stall of a whole second could split
 * them (with 100 ms, one slow moment of a busy machine did).
 */
const BURST_DEBOUNCE_MS = 1000;

test('ConfigWatcher: a burst of writes is one candidate; unrelated files are ignored; a deleted file is missing', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, 'x: 0\n');
  mkdirSync(path.join(dir, 'sub'));
  const w = new ConfigWatcher(file, { log: silent, debounceMs: BURST_DEBOUNCE_MS, pollMs: 0 });
  t.after(() => w.stop());
  const seen: string[] = [];
  let firstAt = 0;
  w.on('candidate', (reason) => {
    firstAt ||= performance.now();
    seen.push(reason);
  });
  w.on('missing', () => seen.push('missing'));
  await w.start();
  const writtenAt: number[] = [];
  for (let i = 1; i <= 5; i++) {
    writtenAt.push(performance.now());
    writeFileSync(file, `x: ${i}\n`);
    writeFileSync(path.join(dir, 'other.yaml'), `x: ${i}\n`);
    await delay(10); // a writer saving five times in quick succession
  }
  const wait = { timeoutMs: 5 * BURST_DEBOUNCE_MS };
  await waitFor(() => seen.length >= 1, { ...wait, what: 'the first candidate' });
  // A later, separate change is the marker: anything left of the burst would show before it.
  writeFileSync(path.join(dir, 'sub', 'x.yaml'), 'x\n');
  unlinkSync(file);
  await waitFor(() => seen.includes('missing'), { ...wait, what: 'missing' });
  // The burst is one candidate. Only if the test itself was held up between two writes for
  // half the debounce or more (the machine stalled) may it have been split in two; never one per write.
  const gaps = writtenAt.slice(1).map((at, i) => at - writtenAt[i]!);
  const stalled = Math.max(...gaps) >= BURST_DEBOUNCE_MS / 2;
  const burst = seen.slice(0, seen.indexOf('missing'));
  // The candidate waits a debounce after an event, so it comes a debounce after the first write at the
  // earliest (5 ms for timer rounding), never on the first event. (Not always a debounce after the last
  // write: chokidar drops a path's changes for 50 ms after reporting one.)
  const quietFor = firstAt - writtenAt[0]!;
  assert.ok(quietFor >= BURST_DEBOUNCE_MS - 5, `the candidate came ${Math.round(quietFor)} ms after the first write`);
  if (stalled && burst.length === 2) t.diagnostic(`writes ${gaps.map(Math.round).join('/')} ms apart: the burst was split by a stall`);
  else assert.equal(burst.length, 1, `5 writes ${gaps.map(Math.round).join('/')} ms apart gave ${JSON.stringify(seen)}`);
  assert.deepEqual(seen, [...burst.map(() => 'change lb.yaml'), 'missing']);
  writeFileSync(file, 'x: 9\n');
  await waitFor(() => seen.length === burst.length + 2, { ...wait, what: 'the candidate of the re-created file' });
  assert.match(seen.at(-1)!, /^(add|change) lb\.yaml$/);
});

function fakeTarget(cfgText: string): ReloadTarget & { applies: number; release: () => void; fail?: Error } {
  const parsed = parseConfigText(cfgText, 'lb.yaml');
  if (!parsed.ok) throw new Error('bad fixture');
  let running: { config: LbConfig; hash: string } = { config: parsed.config, hash: parsed.hash };
  let release = () => {};
  const target = {
    applies: 0,
    fail: undefined as Error | undefined,
    release: () => release(),
    get current() { return running; },
    apply: async (config: LbConfig, hash: string) => {
      target.applies++;
      await new Promise<void>((r) => { release = r; });
      if (target.fail) throw target.fail;
      running = { config, hash };
    },
  };
  return target;
}

test('Reloader: reloads queued behind a running one coalesce into one; results are never rejections', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  const v1 = lbYaml(['http://127.0.0.1:1']);
  writeFileSync(file, v1);
  const target = fakeTarget(v1);
  const r = new Reloader(file, target, silent);
  writeFileSync(file, lbYaml(['http://127.0.0.1:2']));
  const first = r.reload('a');
  await waitFor(() => target.applies === 1, { what: 'the first apply to start' });
  const second = r.reload('b');
  const third = r.reload('c');
  assert.equal(second, third, 'one queued reload absorbs the next');
  writeFileSync(file, lbYaml(['http://127.0.0.1:3']));
  target.release();
  assert.equal((await first).ok, true);
  await waitFor(() => target.applies === 2, { what: 'the queued apply' });
  target.fail = new Error('cannot bind');
  target.release();
  assert.deepEqual(await second, { ok: false, errors: [`${file}: cannot bind`] });
  await r.settled();
  assert.equal(target.applies, 2);
  assert.equal(r.lastReload?.ok, false);
  assert.equal(r.lastReload?.trigger, 'b');
});

test('ConfigWatcher: a ConfigMap swap is one candidate, not held back by the old version dir going away; the next swap too', async (t) => {
  const dir = tempDir(t);
  const cm = new ConfigMapDir(dir).init('x: 0\n');
  const w = new ConfigWatcher(cm.file, { log: silent, debounceMs: 100, pollMs: 0 });
  t.after(() => w.stop());
  const seen: string[] = [];
  w.on('candidate', (reason) => seen.push(reason));
  await w.start();
  for (const [n, version] of [[1, '..2026_11_25_b'], [2, '..2026_11_25_c']] as const) {
    cm.swap(`x: ${n}\n`);
    await waitFor(() => seen.length === n, { what: `candidate ${n}` });
    assert.match(seen[n - 1]!, /change \.\.data/);
    // chokidar reports the old version's lb.yaml removed 100 ms late (atomic); that must not hold the candidate back.
    assert.doesNotMatch(seen[n - 1]!, /unlink/);
    assert.deepEqual(w.watched.sort(), [dir, path.join(dir, version)].sort());
  }
});
