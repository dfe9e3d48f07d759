/**
 * Issue 14: https:// backends signed by a private CA, on both engines and
 * in the probes: trusted through tls.backend.ca; refused (and the probe
 * says why in /status) with verify on and no CA; accepted with verify:
 * false; a reload that adds the CA is applied to new connections.
 * Certificates are made by openssl at test time.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { hasOpenssl, makeCa, makeCert, type Pem } from '../helpers/certs.js';
import { request, startTestDaemon, tempDir } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const skip = hasOpenssl() ? false : 'openssl is not installed (apt-get install -y openssl)';

/** startPrivateBackend serves HTTPS on 127.0.0.1:0 with `pem` (for the IP 127.0.0.1), echoing its X-Forwarded-Proto. */
async function startPrivateBackend(t: TestContext, pem: Pem): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = https.createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (req, res) => {
    hits++;
    res.end(`private ${String(req.headers['x-forwarded-proto'])}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

for (const engine of ['undici', 'http-proxy-3'] as const) {
  test(`${engine}: an https:// backend signed by a private CA works with tls.backend.ca and is refused without it`, { skip }, async (t) => {
    const dir = tempDir(t);
    const ca = makeCa(dir);
    const b = await startPrivateBackend(t, makeCert(dir, 'backend', ['127.0.0.1'], { ca }));
    const yaml = (tls: string) => `engine: ${engine}\nlisten: 127.0.0.1:0\nbackends:\n  - url: ${b.url}\nhealthCheck:\n  interval: 300ms\n  timeout: 300ms\n  path: /health\n  rise: 1\n  fall: 1\n  panicBelow: 100%\nadmin:\n  listen: 127.0.0.1:0\n${tls}`;

    // verify on (the default), no CA: Node's store does not know the private CA.
    const { daemon, url, file } = await startTestDaemon(t, yaml(''), { dir });
    // panicBelow: 100% sends requests to the down backend anyway: the engine refuses its certificate too.
    const r = await request(`${url}/`);
    assert.equal(r.status, 502, 'the engine refuses the certificate: no request reaches the backend');
    // The probe says why (polled: on a loaded machine one probe may time out first).
    await waitFor(async () => {
      const status = JSON.parse((await request(`http://127.0.0.1:${daemon.adminAddress!.port}/status`)).body) as { backends: Array<{ lastProbe: { reason: string } | null }> };
      return /UNABLE_TO_VERIFY_LEAF_SIGNATURE/.test(status.backends[0]!.lastProbe?.reason ?? '');
    }, { timeoutMs: 10_000, what: 'the certificate error as the probe reason' });
    assert.equal(b.hits(), 0, 'no request and no probe got past the handshake');
    const probeHits = b.hits();

    // The reload adds the CA: probes and new connections use it.
    writeFileSync(file, yaml(`tls:\n  backend:\n    ca: ${ca.cert}\n`));
    const reload = await daemon.reload('test');
    assert.equal(reload.ok, true, JSON.stringify(reload));
    const ok = await waitFor(async () => { const x = await request(`${url}/`); return x.status === 200 ? x : undefined; }, { timeoutMs: 10_000, what: '200 through the private CA' });
    assert.equal(ok.body, 'private http', 'X-Forwarded-Proto of a plain listener is http');
    assert.ok(b.hits() > probeHits);
  });

  test(`${engine}: tls.backend.verify: false accepts a certificate nobody signed for it`, { skip }, async (t) => {
    const dir = tempDir(t);
    const b = await startPrivateBackend(t, makeCert(dir, 'self', ['wrong.test']));
    const { url } = await startTestDaemon(t, `engine: ${engine}\nlisten: 127.0.0.1:0\nbackends:\n  - url: ${b.url}\ntls:\n  backend:\n    verify: false\n`, { dir });
    const r = await request(`${url}/`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'private http');
  });
}

test('tls.backend.ca that cannot be read refuses the start at its key', { skip }, async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    startTestDaemon(t, `listen: 127.0.0.1:0\nbackends:\n  - url: https://127.0.0.1:1\ntls:\n  backend:\n    ca: ${dir}/missing.pem\n`, { dir }),
    // line 7 when YALB_TEST_ENGINE adds an engine: line on top
    (err: Error & { code?: string }) => err.code === 'YALB_ERR_CONFIG_INVALID' && /lb\.yaml:[67]:\d+: tls\.backend\.ca: cannot read .*missing\.pem: ENOENT/.test(err.message),
  );
});
