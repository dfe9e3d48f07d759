/**
 * The operator's view over HTTP (issue 16): GET /api/history (the last 50
 * reloads, newest first, with trigger, result, diff and file:line:col),
 * Git fields from a config in a temporary Git repository (committed, then
 * edited → dirty), GET /api/config (token redacted), GET /api/series, the
 * page's headers and the access rules.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { readGit } from '../../src/admin/git.js';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'admin:\n  listen: 127.0.0.1:0\n';

interface Entry { id: number; trigger: string; result: string; durationMs: number; hash?: string; changes: string[]; errors: Array<{ text: string; line?: number; col?: number; message: string }>; git?: { commit: string; subject: string; date: string; dirty: boolean } }

async function json<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const r = await request(url, { headers });
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

function hasGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('/api/history: start, an applied reload with its diff, a failed one with file:line:col, newest first', async (t) => {
  const bs = await startBackends(t, 3);
  const [a, b, c] = bs.map((x) => x.url) as [string, string, string];
  const { daemon, file } = await startTestDaemon(t, yamlConfig([a, b], ADMIN), { watch: false }); // reloads driven here only
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  let h = await json<{ version: number; entries: Entry[] }>(`${admin}/api/history`);
  assert.equal(h.entries.length, 1);
  assert.equal(h.entries[0]!.trigger, 'start');
  assert.equal(h.entries[0]!.result, 'applied');
  assert.match(h.entries[0]!.changes[0]!, /started: 2 backends/);

  writeFileSync(file, yamlConfig([a, c], `${ADMIN}strategy: least-connections\n`));
  assert.equal((await daemon.reload('SIGHUP')).ok, true);
  writeFileSync(file, yamlConfig([a, c], `${ADMIN}strategy: least-connections\nretry:\n  maxAttempts: nope\n`));
  assert.equal((await daemon.reload('yalb reload')).ok, false);

  h = await json(`${admin}/api/history`);
  assert.deepEqual(h.entries.map((e) => [e.trigger, e.result]), [['yalb reload', 'failed'], ['SIGHUP', 'applied'], ['start', 'applied']]);
  const [failed, applied] = h.entries as [Entry, Entry];
  assert.ok(applied.changes.includes(`+1 backend (${c})`), applied.changes.join('; '));
  assert.ok(applied.changes.includes(`-1 backend (${b})`), applied.changes.join('; '));
  assert.ok(applied.changes.includes('strategy round-robin → least-connections'));
  assert.ok(applied.durationMs >= 0 && typeof applied.hash === 'string');
  assert.equal(failed.errors.length, 1);
  assert.equal(failed.errors[0]!.line, 9);
  assert.equal(failed.errors[0]!.col, 16);
  assert.match(failed.errors[0]!.text, /lb\.yaml:9:16: /);

  // ETag: the same version answers 304.
  const first = await request(`${admin}/api/history`);
  const again = await request(`${admin}/api/history`, { headers: { 'if-none-match': String(first.headers.etag) } });
  assert.equal(again.status, 304);

  // Back to the serving bytes: recorded as restored.
  writeFileSync(file, yamlConfig([a, c], `${ADMIN}strategy: least-connections\n`));
  await daemon.reload('file change lb.yaml');
  h = await json(`${admin}/api/history`);
  assert.equal(h.entries[0]!.result, 'restored');
});

test('/api/history keeps the last 50', async (t) => {
  const bs = await startBackends(t, 1);
  const { daemon, file } = await startTestDaemon(t, yamlConfig([bs[0]!.url], ADMIN), { watch: false });
  for (let i = 1; i <= 52; i++) {
    writeFileSync(file, yamlConfig([bs[0]!.url], `${ADMIN}retry:\n  maxAttempts: ${(i % 9) + 1}\n# ${i}\n`));
    await daemon.reload('SIGHUP');
  }
  const h = await json<{ entries: Entry[] }>(`http://127.0.0.1:${daemon.adminAddress!.port}/api/history`);
  assert.equal(h.entries.length, 50);
  assert.ok(h.entries.every((e) => e.trigger === 'SIGHUP'), 'the start entry is the oldest and was dropped');
  assert.ok(h.entries[0]!.id > h.entries[49]!.id);
});

test('Git fields: committed config → commit, subject, date; edited and not committed → dirty', { skip: hasGit() ? false : 'git is not on PATH' }, async (t) => {
  const bs = await startBackends(t, 2);
  const dir = tempDir(t);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q');
  git('config', 'user.email', 'ops@example.com');
  git('config', 'user.name', 'Ops');
  writeFileSync(`${dir}/lb.yaml`, yamlConfig([bs[0]!.url], ADMIN));
  git('add', 'lb.yaml');
  git('commit', '-q', '-m', 'first pool');
  const commit = git('rev-parse', '--short', 'HEAD');
  const { daemon, file } = await startTestDaemon(t, yamlConfig([bs[0]!.url], ADMIN), { dir });
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const status = await waitFor(async () => {
    const s = await json<{ configGit?: Entry['git'] }>(`${admin}/status`);
    return s.configGit ? s : undefined;
  }, { timeoutMs: 5000, what: '/status configGit' });
  assert.equal(status.configGit!.commit, commit);
  assert.equal(status.configGit!.subject, 'first pool');
  assert.equal(status.configGit!.dirty, false);
  assert.ok(!Number.isNaN(Date.parse(status.configGit!.date)));

  writeFileSync(file, yamlConfig([bs[0]!.url, bs[1]!.url], ADMIN));
  assert.equal((await daemon.reload('SIGHUP')).ok, true);
  const entry = await waitFor(async () => {
    const h = await json<{ entries: Entry[] }>(`${admin}/api/history`);
    return h.entries[0]?.git ? h.entries[0] : undefined;
  }, { timeoutMs: 5000, what: 'history git fields' });
  assert.equal(entry.git!.commit, commit);
  assert.equal(entry.git!.dirty, true);
  const s2 = await waitFor(async () => {
    const s = await json<{ configGit?: Entry['git'] }>(`${admin}/status`);
    return s.configGit?.dirty ? s : undefined;
  }, { timeoutMs: 5000, what: '/status configGit dirty' });
  assert.equal(s2.configGit!.commit, commit);
  const live = await json<{ git?: Entry['git'] }>(`${admin}/api/config`);
  assert.equal(live.git?.dirty, true);
});

test('no Git work tree: no Git fields, no error', async (t) => {
  const bs = await startBackends(t, 1);
  const { daemon, file, logs } = await startTestDaemon(t, yamlConfig([bs[0]!.url], ADMIN));
  assert.equal(await readGit(file), undefined);
  assert.equal(await readGit('/nonexistent/dir/lb.yaml'), undefined);
  const s = await json<Record<string, unknown>>(`http://127.0.0.1:${daemon.adminAddress!.port}/status`);
  assert.equal('configGit' in s, false);
  assert.ok(!logs.lines.some((l) => /git/i.test(l)), logs.lines.join('\n'));
});

test('/api/config: the serving config as JSON, the token redacted; /api/series; the page and its headers', async (t) => {
  const bs = await startBackends(t, 2);
  const token = 'a-test-token-of-32-characters-xx';
  const { daemon, url } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${token}\n`));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await request(`${admin}/api/config`)).status, 401);
  assert.equal((await request(`${admin}/api/history`)).status, 401);
  assert.equal((await request(`${admin}/api/series`)).status, 401);
  const live = await json<{ file: string; hash: string; loadedAt: string; config: { backends: Array<{ url: string }>; admin: { token: string } } }>(`${admin}/api/config`, auth);
  assert.equal(live.hash, daemon.current.hash);
  assert.deepEqual(live.config.backends.map((b) => b.url), bs.map((b) => b.url));
  assert.match(live.config.admin.token, /^sha256:[0-9a-f]{16}$/);
  assert.ok(!JSON.stringify(live).includes(token), 'the token never leaves the daemon');

  // The page holds no data: it loads without the token (and asks for it), with a CSP that allows only its own origin.
  const page = await request(`${admin}/`);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(page.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external URL in the page');
  assert.ok(!page.body.includes(token));

  for (let i = 0; i < 20; i++) assert.equal((await request(url)).status, 200);
  const series = await waitFor(async () => {
    const s = await json<{ t: number[]; minute: { requests: number; codes: Record<string, number>; p50Ms: number | null; p99Ms: number | null }; backends: Record<string, { rps: number[] }> }>(`${admin}/api/series`, auth);
    return s.minute.requests >= 20 ? s : undefined;
  }, { timeoutMs: 5000, what: 'the series to count the requests' });
  assert.equal(series.minute.codes['2xx'], series.minute.requests);
  assert.ok(series.minute.p50Ms !== null && series.minute.p99Ms !== null && series.minute.p99Ms >= series.minute.p50Ms);
  assert.ok(series.t.length <= 60);
  const perBackend = bs.map((b) => series.backends[b.url]!.rps.reduce((x, y) => x + y, 0));
  assert.ok(perBackend.every((n) => n > 0), `both backends took requests: ${perBackend}`);
});

test('loopback-only admin: a Host that is not loopback or an IP is refused (DNS rebinding)', async (t) => {
  const bs = await startBackends(t, 1);
  const { daemon } = await startTestDaemon(t, yamlConfig([bs[0]!.url], ADMIN));
  const admin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  assert.equal((await request(`${admin}/`)).status, 200);
  assert.equal((await request(`${admin}/api/history`, { headers: { host: 'localhost:9090' } })).status, 200);
  assert.equal((await request(`${admin}/`, { headers: { host: 'evil.example.com:9090' } })).status, 403);
  assert.equal((await request(`${admin}/api/config`, { headers: { host: 'evil.example.com' } })).status, 403);
  assert.equal((await request(`${admin}/status`, { headers: { host: 'evil.example.com' } })).status, 403, '/status too');
  assert.equal((await request(`${admin}/metrics`, { headers: { host: 'evil.example.com' } })).status, 403, '/metrics too');
  assert.equal((await request(`${admin}/status`, { headers: { host: 'localhost' } })).status, 200);
  assert.equal((await request(`${admin}/healthz`, { headers: { host: 'evil.example.com' } })).status, 200, '/healthz tells nothing');
});
