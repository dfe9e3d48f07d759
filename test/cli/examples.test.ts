/**
 * The Docker example cannot run here (no Docker engine), so this checks
 * what can be checked: the Dockerfile's shape and its health check command
 * against a real daemon. The systemd, Kubernetes, CI and pre-commit
 * examples are checked in ops-examples.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { startBackends } from '../helpers/backend.js';
import { CLI } from '../helpers/cli.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EX = path.join(ROOT, 'examples');

/** DOCKERFILE_LINT is dockerfile-utils (npm), installed by .ci/tools.sh outside the repository. */
const DOCKERFILE_LINT = ((): string | undefined => {
  const dir = process.env.YALB_TOOLS_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'yalb-ci/tools');
  const bin = path.join(dir, 'node_modules/.bin/dockerfile-utils');
  return existsSync(bin) ? bin : undefined;
})();

test('Dockerfile: the linter finds nothing in it (and does find a planted mistake)', { skip: !DOCKERFILE_LINT && 'dockerfile-utils not available (npm install --prefix ~/.cache/yalb-ci/tools dockerfile-utils@0.16.3; .ci/run does it)' }, (t) => {
  const shipped = spawnSync(DOCKERFILE_LINT!, ['lint', path.join(EX, 'docker/Dockerfile')], { encoding: 'utf8' });
  assert.equal(shipped.status, 0, shipped.stdout + shipped.stderr);
  assert.equal(shipped.stdout.trim(), '', 'no finding');
  const dir = tempDir(t);
  const planted = path.join(dir, 'Dockerfile');
  writeFileSync(planted, readFileSync(path.join(EX, 'docker/Dockerfile'), 'utf8').replace(/^HEALTHCHECK .*$/m, 'HEALTHCHECK CMD'));
  const r = spawnSync(DOCKERFILE_LINT!, ['lint', planted], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /HEALTHCHECK/);
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
