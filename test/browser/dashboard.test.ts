/**
 * The dashboard in a real browser (issue 16): Debian's Chromium, headless,
 * driven by playwright-core (never downloads a browser), against a real
 * daemon and real backends with traffic. The page lists every backend; a
 * stopped backend's row turns to down within 2 s; a reload shows in the
 * history with its diff, and an invalid save with its file:line:col; the
 * page makes no request outside the admin origin; it fits a narrow screen
 * and follows a dark colour scheme; a remote admin API's token is asked for
 * once. YALB_SCREENSHOT=path saves a screenshot of the page there (how
 * examples/dashboard.png is made: see the README).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { startTestDaemon, type Teardown, tempDir, withTestEngine, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';

// The functions run in the page: its globals, declared for this file only (tsconfig has no DOM lib).
declare const document: any;
declare const window: any;
declare function getComputedStyle(el: unknown): { backgroundColor: string };

const CHROMIUM = process.env.YALB_CHROMIUM ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does) to run the browser tests`;

/** launch starts headless Chromium with a fresh profile, closed and removed in teardown. */
async function launch(t: Teardown, colorScheme: 'light' | 'dark' = 'light'): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'yalb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    colorScheme,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 30_000,
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** watchPage records every request the page makes and fails on any script error. */
function watchPage(context: BrowserContext, page: Page): { requests: string[]; errors: string[] } {
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { requests, errors };
}

/** traffic sends bounded background requests (at most `max`, 25 a second) until stopped in teardown. */
function traffic(t: Teardown, url: string, max = 2000): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= max) return clearInterval(timer);
    sent++;
    http.get(url, { agent }, (res) => res.resume()).on('error', () => {});
  }, 40);
  t.after(() => {
    clearInterval(timer);
    agent.destroy();
  });
}

/** gitCommit writes lb.yaml into `dir`, makes it a Git work tree and commits it; the short hash, or undefined without git. */
function gitCommit(dir: string, yaml: string): string | undefined {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    git('init', '-q');
    git('config', 'user.email', 'ops@example.com');
    git('config', 'user.name', 'Ops');
    writeFileSync(path.join(dir, 'lb.yaml'), yaml);
    git('add', 'lb.yaml');
    git('commit', '-q', '-m', 'api pool: three backends');
    return git('rev-parse', '--short', 'HEAD');
  } catch {
    return undefined;
  }
}

const HEALTH = 'healthCheck:\n  interval: 200ms\n  timeout: 150ms\n  rise: 1\n  fall: 1\n';

test('the dashboard: every backend, down within 2 s, a reload with its diff, an invalid save with line:col, only its own origin', { skip, timeout: 90_000 }, async (t) => {
  const bs = await startBackends(t, 3);
  const urls = bs.map((b) => b.url);
  // A fixed admin port (one no listen(0) takes), so that every save names the same admin listener.
  const port = await deadPort();
  const base = (list: string[], extra = '') => yamlConfig(list, `admin:\n  listen: 127.0.0.1:${port}\n${HEALTH}${extra}`);
  // The config lives in a Git work tree (when git is here): the page shows its commit.
  const dir = tempDir(t);
  const commit = gitCommit(dir, withTestEngine(base(urls)));
  const { file, url } = await startTestDaemon(t, base(urls), { dir });
  const origin = `http://127.0.0.1:${port}`;
  traffic(t, url);

  const context = await launch(t);
  const page = await context.newPage();
  const seen = watchPage(context, page);
  await page.goto(`${origin}/`);
  await page.waitForFunction((n) => document.querySelectorAll('#pools tr[data-url]').length === n, urls.length, { timeout: 10_000 });
  for (const u of urls) assert.equal(await page.getAttribute(`tr[data-url="${u}"]`, 'data-state'), 'up');
  if (commit) await page.waitForFunction((c) => (document.querySelector('#config-list')?.textContent ?? '').includes(c), commit, { timeout: 5000 });

  // A backend that stops: its row turns to down within 2 s.
  const victim = bs[2] as TestBackend;
  const stoppedAt = Date.now();
  await victim.stop();
  await page.waitForSelector(`tr[data-url="${victim.url}"][data-state="down"]`, { timeout: 2000 });
  t.diagnostic(`row down ${Date.now() - stoppedAt} ms after the backend stopped`);

  // A reload: the history shows it, newest first, with its diff.
  writeFileSync(file, base([urls[0] as string, urls[1] as string], 'strategy: least-connections\n'));
  await page.waitForFunction((removed) => {
    const li = document.querySelector('#history-list > li');
    return li?.getAttribute('data-result') === 'applied' && (li.textContent ?? '').includes(removed);
  }, `-1 backend (${victim.url})`, { timeout: 10_000 });
  const top = await page.textContent('#history-list > li');
  assert.match(top ?? '', /strategy round-robin → least-connections/);
  await page.waitForFunction(() => document.querySelectorAll('#pools tr[data-url]').length === 2, undefined, { timeout: 5000 });

  // An invalid save: shown with its file:line:col, the old config still serving.
  writeFileSync(file, `${base([urls[0] as string, urls[1] as string], 'strategy: least-connections\n')}retry:\n  maxAttempts: many\n`);
  await page.waitForSelector('#history-list > li[data-result="failed"] .errors li', { timeout: 10_000 });
  const err = await page.textContent('#history-list > li[data-result="failed"] .errors li');
  assert.match(err ?? '', /lb\.yaml:\d+:\d+: /);
  assert.match(err ?? '', /maxAttempts/);
  assert.match((await page.textContent('#config-list')) ?? '', /FAILED/);

  // Totals from the series: requests per second are counted.
  await page.waitForFunction(() => /\d/.test(document.querySelector('#totals .card .value')?.textContent ?? ''), undefined, { timeout: 5000 });

  if (process.env.YALB_SCREENSHOT) await page.screenshot({ path: process.env.YALB_SCREENSHOT, fullPage: true });

  // Narrow screen: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than a 375px screen`);

  const foreign = seen.requests.filter((r) => !r.startsWith(`${origin}/`));
  assert.deepEqual(foreign, [], 'the page made requests outside the admin origin');
  assert.ok(seen.requests.length > 3);
  assert.deepEqual(seen.errors, []);
});

test('the dashboard in dark mode, and a remote admin API\'s token asked for once', { skip, timeout: 60_000 }, async (t) => {
  const bs = await startBackends(t, 2);
  const token = 'a-browser-token-of-32-characters';
  const { daemon } = await startTestDaemon(t, yamlConfig(bs.map((b) => b.url), `admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: ${token}\n`));
  const origin = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  const context = await launch(t, 'dark');
  const page = await context.newPage();
  const seen = watchPage(context, page);
  await page.goto(`${origin}/`);
  await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
  await page.fill('#token', token);
  await page.click('#auth button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#pools tr[data-url]').length === 2, undefined, { timeout: 10_000 });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number) as [number, number, number];
  assert.ok(r + g + b < 150, `a dark background in dark mode, got ${bg}`);
  // Entered once: a reload of the page does not ask again (kept for the tab).
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#pools tr[data-url]').length === 2, undefined, { timeout: 10_000 });
  assert.equal(await page.isHidden('#auth'), true);
  assert.deepEqual(seen.requests.filter((u) => !u.startsWith(`${origin}/`)), []);
  // The console shows the 401 of the first poll (before the token); nothing else.
  assert.deepEqual(seen.errors.filter((e) => !/401/.test(e)), []);
});
