/**
 * Active probes: expectStatus parsing and matching, the HTTP probe's request
 * (path, Host, User-Agent) and verdicts against a real local server, the TCP
 * probe, certificate checks for https:// backends (against a real node:https
 * server with the self-signed fixture of test/fixtures/tls/), and the
 * scheduler's jitter (on mocked timers). Issue 4.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthScheduler } from '../../src/health/scheduler.js';
import { backendTlsOptions } from '../../src/config/backend-tls.js';
import { parseStatusRanges, type StatusRanges } from '../../src/config/units.js';
import { httpProbe, statusMatches, tcpProbe, USER_AGENT } from '../../src/health/probes.js';

/** parseExpectStatus parses a valid expectStatus as the config schema does. */
function parseExpectStatus(spec: string): StatusRanges {
  const r = parseStatusRanges(spec);
  if (typeof r === 'string') throw new Error(r);
  return r;
}
import { createLogger } from '../../src/log/logger.js';
import { startBackends } from '../helpers/backend.js';
import { makeFakePool } from '../helpers/fake-pool.js';
import { startHttpsBackend } from '../helpers/tls-backend.js';
import { refusingPort, startPinnedBackend } from '../helpers/refusing-port.js';

describe('expectStatus', () => {
  const parsed: Array<[string, Array<[number, number]>]> = [
    ['200-399', [[200, 399]]],
    ['200', [[200, 200]]],
    ['200,204', [[200, 200], [204, 204]]],
    ['200-299,304', [[200, 299], [304, 304]]],
  ];
  for (const [spec, want] of parsed) {
    it(`parses "${spec}"`, () => assert.deepEqual(parseExpectStatus(spec), want));
  }
  it('refuses spaces, codes outside 100-599 and reversed ranges (the schema reports them at their line)', () => {
    for (const bad of ['200, 204', '099', '600', '399-200', '2xx']) assert.equal(typeof parseStatusRanges(bad), 'string', bad);
  });

  const matches: Array<[string, number, boolean]> = [
    ['200-399', 200, true], ['200-399', 302, true], ['200-399', 399, true], ['200-399', 199, false], ['200-399', 400, false],
    ['200-399', 503, false], ['200', 200, true], ['200', 204, false], ['200,204', 204, true], ['200,204', 201, false],
    ['200-299,304', 304, true], ['200-299,304', 301, false],
  ];
  for (const [spec, status, want] of matches) {
    it(`${status} ${want ? 'passes' : 'fails'} "${spec}"`, () => assert.equal(statusMatches(status, parseExpectStatus(spec)), want));
  }
});

describe('httpProbe', () => {
  it('GETs the path with the backend Host and a yalb User-Agent', async (t) => {
    const [b] = await startBackends(t, 1);
    const r = await httpProbe(b!.url, '/health?x=1', parseExpectStatus('200-399'), 2000);
    assert.equal(r.ok, true);
    assert.equal(r.reason, 'status 200');
    const seen = b!.seen.at(-1);
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.url, '/health?x=1');
    assert.equal(seen?.headers.host, `127.0.0.1:${b!.port}`);
    assert.equal(seen?.headers['user-agent'], USER_AGENT);
    assert.match(USER_AGENT, /^yalb-health\//);
  });

  it('fails on a status outside expectStatus, with the status as reason', async (t) => {
    const [b] = await startBackends(t, 1);
    b!.behaviour = { kind: 'status', status: 503 };
    assert.deepEqual(pick(await httpProbe(b!.url, '/', parseExpectStatus('200-399'), 2000)), { ok: false, reason: 'status 503' });
    b!.behaviour = { kind: 'status', status: 204 };
    assert.deepEqual(pick(await httpProbe(b!.url, '/', parseExpectStatus('200'), 2000)), { ok: false, reason: 'status 204' });
    assert.deepEqual(pick(await httpProbe(b!.url, '/', parseExpectStatus('200,204'), 2000)), { ok: true, reason: 'status 204' });
  });

  it('fails with "timeout" when the backend does not answer in time', async (t) => {
    const [b] = await startBackends(t, 1);
    b!.behaviour = { kind: 'stall' };
    const r = await httpProbe(b!.url, '/', parseExpectStatus('200-399'), 150);
    assert.deepEqual(pick(r), { ok: false, reason: 'timeout' });
    // Upper bound: 20 × the timeout, room for a busy machine; a probe that ignored it would hang on the stall.
    assert.ok(r.ms >= 140 && r.ms < 3000, `took ${r.ms} ms`);
  });

  it('fails with ECONNREFUSED on a closed port', async () => {
    const port = await refusingPort();
    assert.deepEqual(pick(await httpProbe(`http://127.0.0.1:${port}`, '/', parseExpectStatus('200-399'), 2000)), { ok: false, reason: 'ECONNREFUSED' });
  });
});

describe('tcpProbe', () => {
  it('passes when the port accepts, fails with ECONNREFUSED when it refuses', async (t) => {
    const b = await startPinnedBackend('tcp');
    t.after(() => b.stop());
    assert.deepEqual(pick(await tcpProbe(b.url, 2000)), { ok: true, reason: 'ok' });
    await b.stop();
    assert.deepEqual(pick(await tcpProbe(b.url, 2000)), { ok: false, reason: 'ECONNREFUSED' });
  });
});


describe('probes of https:// backends verify the certificate as the proxy does', () => {
  // Regression: probes used rejectUnauthorized: false while the proxy verifies,
  // so a backend with a bad certificate showed up while every request to it failed.
  it('tcpProbe fails on an untrusted (self-signed) certificate, naming the TLS error', async (t) => {
    const b = await startHttpsBackend(t);
    assert.deepEqual(pick(await tcpProbe(b.url, 2000)), { ok: false, reason: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('httpProbe fails on an untrusted (self-signed) certificate, naming the TLS error, and sends no request', async (t) => {
    const b = await startHttpsBackend(t);
    assert.deepEqual(pick(await httpProbe(b.url, '/health', parseExpectStatus('200-399'), 2000)), { ok: false, reason: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    assert.equal(b.hits(), 0, 'the GET went out over a connection whose certificate was not verified');
  });
});

describe('backendTlsOptions', () => {
  // Exactly these keys: no `ca` (Node's default store) and no checkServerIdentity override.
  const cases: Array<[string, string]> = [
    ['https://backend.internal:8443', 'backend.internal'],
    ['https://API.Example.com', 'api.example.com'],
    ['https://127.0.0.1:8443', ''],
    ['https://127.1:8443', ''], // the URL parser rewrites it to 127.0.0.1
    ['https://[::1]:8443', ''],
    ['https://[2001:db8::1]', ''],
  ];
  for (const [url, servername] of cases) {
    it(`${url} → servername ${JSON.stringify(servername)}, rejectUnauthorized`, () => {
      assert.deepEqual(backendTlsOptions(url), { rejectUnauthorized: true, servername });
      assert.deepEqual(backendTlsOptions(new URL(url)), { rejectUnauthorized: true, servername });
    });
  }
});

describe('probe jitter', () => {
  /** firstProbeAt returns when (in mocked ms) the scheduler first probes, for a given random value. */
  async function firstProbeAt(t: import('node:test').TestContext, random: number, intervalMs: number): Promise<number> {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fp = makeFakePool(['a']);
    let probes = 0;
    const log = createLogger({ silent: true });
    const s = new HealthScheduler(fp.pool.backends, fp.pool, { intervalMs, timeoutMs: 50, path: undefined, expectStatus: parseExpectStatus('200-399') }, log, {
      random: () => random,
      prober: async () => {
        probes++;
        return { ok: true, reason: 'ok', ms: 0 };
      },
    });
    s.start();
    try {
      for (let elapsed = 1; elapsed <= intervalMs * 2; elapsed++) {
        t.mock.timers.tick(1);
        if (probes > 0) return elapsed;
      }
      return -1;
    } finally {
      s.stop();
      t.mock.timers.reset();
    }
  }

  it('spreads probe times by up to 10 % of the interval', async (t) => {
    assert.equal(await firstProbeAt(t, 0, 1000), 1000);
    assert.equal(await firstProbeAt(t, 0.5, 1000), 950);
    assert.equal(await firstProbeAt(t, 0.999, 1000), 900);
  });
});

function pick(r: { ok: boolean; reason: string }): { ok: boolean; reason: string } {
  return { ok: r.ok, reason: r.reason };
}
