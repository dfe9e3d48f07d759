/**
 * Probes of https:// backends verify certificates as the proxy does (Node's
 * default CA store, rejectUnauthorized, the name checked against the
 * certificate). Real node:https servers on 127.0.0.1:0 serve the test-only
 * certificates of test/fixtures/tls/. Node reads extra trusted CAs
 * (NODE_EXTRA_CA_CERTS) only at start-up, so the cases that need the fixture
 * trusted run the probes in a child `node` started with it set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { request, startTestDaemon, yamlConfig } from '../helpers/daemon.js';
import { startHttpsBackend, TLS_DIR } from '../helpers/tls-backend.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROBES = pathToFileURL(path.join(ROOT, 'src/health/probes.ts')).href;

/** CHILD runs tcpProbe and httpProbe on each target of PROBE_TARGETS and prints the verdicts as JSON. */
const CHILD = `
const { tcpProbe, httpProbe } = await import(process.env.PROBES_URL);
const out = {};
for (const [name, url] of Object.entries(JSON.parse(process.env.PROBE_TARGETS))) {
  const tcp = await tcpProbe(url, 5000);
  const http = await httpProbe(url, '/health', [[200, 200]], 5000);
  out[name] = { tcp: tcp.reason, tcpOk: tcp.ok, http: http.reason, httpOk: http.ok };
}
process.stdout.write(JSON.stringify(out));
`;

type Verdicts = Record<string, { tcp: string; tcpOk: boolean; http: string; httpOk: boolean }>;

/** probeInChild runs the probes in a child node that trusts `caFile`; bounded by timeoutMs, killed in teardown. */
function probeInChild(t: TestContext, caFile: string, targets: Record<string, string>, timeoutMs = 30_000): Promise<Verdicts> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: caFile, PROBES_URL: PROBES, PROBE_TARGETS: JSON.stringify(targets) };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', CHILD], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`probe child did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`probe child exited ${code}\nstderr: ${stderr}`));
      else resolve(JSON.parse(stdout) as Verdicts);
    });
  });
}

test('with the certificate trusted (NODE_EXTRA_CA_CERTS), probes pass; a trusted certificate for another name fails with ERR_TLS_CERT_ALTNAME_INVALID', async (t) => {
  const good = await startHttpsBackend(t, 'localhost');
  const wrongName = await startHttpsBackend(t, 'other-name');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'yalb-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = path.join(dir, 'trusted.pem');
  writeFileSync(bundle, ['localhost', 'other-name'].map((c) => readFileSync(path.join(TLS_DIR, `${c}.crt`), 'utf8')).join(''));

  const got = await probeInChild(t, bundle, { good: good.url, wrongName: wrongName.url });
  // Verification is on and passes: the certificate's IP SAN 127.0.0.1 matches the URL.
  assert.deepEqual(got.good, { tcp: 'ok', tcpOk: true, http: 'status 200', httpOk: true });
  assert.equal(good.hits(), 1, 'the HTTP probe reached the trusted backend');
  // Trusted chain, wrong name: only the name check can fail it.
  assert.deepEqual(got.wrongName, { tcp: 'ERR_TLS_CERT_ALTNAME_INVALID', tcpOk: false, http: 'ERR_TLS_CERT_ALTNAME_INVALID', httpOk: false });
  assert.equal(wrongName.hits(), 0, 'the HTTP probe sent its GET over a connection whose name check failed');
});

test('a daemon shows an https backend with an untrusted certificate down (reason names the TLS error) and answers 503, not 502', async (t) => {
  const b = await startHttpsBackend(t, 'localhost');
  const { daemon, url } = await startTestDaemon(t, yamlConfig([b.url], 'healthCheck:\n  interval: 1m\n  timeout: 5s\n'));
  // The first probe round runs before the listener opens.
  const st = (daemon.status() as { backends: Array<{ state: string; reason: string }> }).backends[0];
  assert.equal(st?.state, 'down', JSON.stringify(st));
  assert.match(st?.reason ?? '', /DEPTH_ZERO_SELF_SIGNED_CERT/);
  const r = await request(url);
  assert.equal(r.status, 503, r.body);
  assert.equal(r.headers['x-yalb-error'], 'YALB_ERR_NO_BACKEND');
  assert.equal(b.hits(), 0);
});
