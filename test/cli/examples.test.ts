/**
 * The deployment examples cannot run here (no systemd as init, no Docker
 * engine, no cluster), so this checks what can be checked: the unit file
 * with systemd-analyze when present, the Dockerfile's shape and its health
 * check command against a real daemon, the Kubernetes manifests and their
 * embedded lb.yaml, the CI workflow, and the pre-commit hook in a real repo.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { startBackends } from '../helpers/backend.js';
import { CLI } from '../helpers/cli.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EX = path.join(ROOT, 'examples');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('systemd unit: verifies cleanly and has reload, restart and hardening', { skip: !has('systemd-analyze') && 'systemd-analyze not installed' }, () => {
  const unit = path.join(EX, 'systemd/yalb.service');
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('yalb.service'));
  assert.deepEqual(complaints, []);
  const text = readFileSync(unit, 'utf8');
  for (const line of ['ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict']) {
    assert.ok(text.includes(line), `missing ${line}`);
  }
});

test('Dockerfile: multi-stage, non-root, HEALTHCHECK on /healthz, COPY sources exist', () => {
  const text = readFileSync(path.join(EX, 'docker/Dockerfile'), 'utf8');
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.ok(lines.filter((l) => l.startsWith('FROM ')).length >= 2, 'multi-stage');
  const user = lines.find((l) => l.startsWith('USER '));
  assert.ok(user && !/root|\b0\b/.test(user), 'non-root USER');
  assert.match(text, /HEALTHCHECK[\s\S]*\/healthz/);
  const allowed = readFileSync(path.join(EX, 'docker/Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
  for (const l of lines.filter((x) => x.startsWith('COPY ') && !x.includes('--from'))) {
    const srcs = l.split(/\s+/).slice(1, -1);
    for (const s of srcs) {
      assert.ok(existsSync(path.join(ROOT, s)), `COPY source ${s} exists`);
      assert.ok(allowed.includes(s.replace(/\/$/, '')), `COPY source ${s} is let through Dockerfile.dockerignore`);
    }
  }
  assert.match(text, /^FROM node:24-/m, 'the current Node LTS');
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.ok(scripts.build, 'the Dockerfile runs npm run build');
});

test('the image\'s lb.yaml validates; its start command serves on every interface; the HEALTHCHECK passes with an admin token set', async (t) => {
  const config = readFileSync(path.join(EX, 'docker/lb.yaml'), 'utf8');
  const checked = parseConfigText(config, 'examples/docker/lb.yaml');
  assert.ok(checked.ok, JSON.stringify(checked));
  assert.equal(checked.ok && checked.config.listen.host, undefined, 'listens on every interface');
  const [b] = await startBackends(t, 1);
  const port = await deadPort();
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  // The image's config with a reachable backend and free ports, run by the image's ENTRYPOINT + CMD.
  writeFileSync(file, config.replace(/^listen: \d+$/m, `listen: ${port}`).replace(/backends:\n(?: {2}- url: .*\n)+/, `backends:\n  - url: ${b!.url}\n`)
    .replace('listen: 127.0.0.1:9090', 'listen: 127.0.0.1:0\n  allowRemote: true\n  token: a-token-of-more-than-16-chars'));
  const dockerfile = readFileSync(path.join(EX, 'docker/Dockerfile'), 'utf8');
  assert.match(dockerfile, /ENTRYPOINT \["node", "dist\/cli\.js"\]\nCMD \["start", "-c", "\/etc\/yalb\/lb\.yaml"\]/);
  const child = spawn(process.execPath, [CLI, 'start', '-c', file], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/`).catch(() => ({ status: 0 }))).status === 200, { what: 'the image config served', timeoutMs: 10_000 });
  const { daemon } = await startTestDaemon(t, yamlConfig([b!.url], 'admin:\n  listen: 127.0.0.1:0\n  allowRemote: true\n  token: a-token-of-more-than-16-chars\n'));
  const text = readFileSync(path.join(EX, 'docker/Dockerfile'), 'utf8');
  const m = /CMD \["node", "-e", "(.*)"\]\nSTOPSIGNAL/.exec(text.replace(/\\\n\s*/g, ''));
  assert.ok(m, 'HEALTHCHECK CMD found');
  const script = JSON.parse(`"${m[1]}"`).replace('9090', String(daemon.adminAddress!.port)) as string;
  // Async: the daemon answers from this very process, so the event loop must stay free.
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore', timeout: 10_000 });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 0);
});

test('Kubernetes manifests parse; 2+ replicas, readiness on /healthz, ConfigMap mounted as a directory and valid', () => {
  const dir = path.join(EX, 'kubernetes');
  const docs = ['configmap.yaml', 'deployment.yaml', 'service.yaml'].flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], f);
      return d.toJS() as { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
    }));
  const dep = docs.find((d) => d.kind === 'Deployment')!;
  const cm = docs.find((d) => d.kind === 'ConfigMap')!;
  assert.ok(docs.find((d) => d.kind === 'Service'));
  assert.ok(dep.spec.replicas >= 2);
  const c = dep.spec.template.spec.containers[0];
  assert.equal(c.readinessProbe.httpGet.path, '/healthz');
  assert.ok(!c.volumeMounts.some((v: { subPath?: string }) => v.subPath), 'no subPath (it never sees ConfigMap updates)');
  assert.equal(dep.spec.template.spec.volumes[0].configMap.name, cm.metadata.name);
  const r = parseConfigText(cm.data!['lb.yaml']!, 'configmap lb.yaml');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.issues));
});

test('CI workflow parses and runs yalb check --format github', () => {
  const wf = parse(readFileSync(path.join(EX, 'ci/check-lb.yml'), 'utf8')) as { jobs: { check: { steps: Array<{ run?: string }> } } };
  assert.ok(wf.jobs.check.steps.some((s) => s.run?.includes('yalb check') && s.run.includes('--format github')));
});

test('pre-commit hook accepts a valid staged lb.yaml and refuses an invalid one', { skip: !has('git') && 'git not installed' }, (t) => {
  const repo = tempDir(t);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' });
  git('init', '-q');
  const hook = path.join(EX, 'git-hooks/pre-commit');
  const env = { ...process.env, YALB: `${process.execPath} ${CLI}` };
  writeFileSync(path.join(repo, 'lb.yaml'), 'backends:\n  - url: http://127.0.0.1:3031\n');
  git('add', 'lb.yaml');
  assert.equal(spawnSync('sh', [hook], { cwd: repo, env }).status, 0);
  writeFileSync(path.join(repo, 'lb.yaml'), 'backends:\n  - url: http://127.0.0.1:3031\n    weigth: 2\n');
  git('add', 'lb.yaml');
  const bad = spawnSync('sh', [hook], { cwd: repo, env, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /lb\.yaml:3:5: /);
});
