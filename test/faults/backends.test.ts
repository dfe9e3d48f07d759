/**
 * Fault suite, backend half (issue 12, item 4): backends that refuse,
 * close, reset, speak garbage, send oversized heads, 103 Early Hints, short
 * bodies, die mid-body, stall, trickle, answer 500 to everything, come back
 * as a new process on the same port — and a backend URL with a base path.
 *
 * Each case asserts what the client sees (the status the contract names, or
 * a closed connection well before the client's own deadline — never a
 * hang), that a normal request still gets 200 (during a fault that lasts,
 * and after every case), and that the process's sockets, servers and ref'd
 * timers come back to the baseline taken after start-up and a warm-up
 * request. The misbehaving backends are raw TCP servers scripted per path
 * (a normal path gets a normal 200), or node:http servers, on 127.0.0.1:0.
 * Runs on the engine YALB_TEST_ENGINE names (default: lb.yaml's).
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test, type TestContext } from 'node:test';
import { request, startTestDaemon, TEST_ENGINE, yamlConfig } from '../helpers/daemon.js';
import {
  backToBaseline, type Counts, exchange, okResponse, quietBaseline, type RawBehaviour, startHttpBackend, startRawBackend,
} from '../helpers/faults.js';
import { deadPort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const ENGINE = TEST_ENGINE ?? 'default engine';

/** CLIENT_DEADLINE is the client's own timeout in the "closed, not hung" cases: it must never fire. */
const CLIENT_DEADLINE = 10_000;
/** CLOSED_WITHIN is how soon such a client must see its connection closed. */
const CLOSED_WITHIN = 3000;

/** trickleBody sends a 15-byte body one byte per 100 ms (1.5 s), then ends. */
const trickleBody: RawBehaviour = (s) => {
  const body = 'abcdefghijklmno';
  s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  let n = 0;
  const tick = setInterval(() => {
    if (s.destroyed) return clearInterval(tick);
    s.write(body[n]!);
    if (++n === body.length) {
      clearInterval(tick);
      s.end();
    }
  }, 100);
  s.on('close', () => clearInterval(tick));
};

/** FAULTS are the raw backend's misbehaviours, by request path. */
const FAULTS: Record<string, RawBehaviour> = {
  // Reads the request, then closes (FIN) without a byte of answer.
  '/fault/fin': (s) => s.end(),
  // Reads the request, then resets the connection (RST) before any header.
  '/fault/reset': (s) => s.resetAndDestroy(),
  // Answers with something that is not HTTP.
  '/fault/garbage': (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP\r\n\r\n'),
  // A response head of 100 KiB (Node's and undici's limit is 16 KiB).
  '/fault/bighead': (s) => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'h'.repeat(100 * 1024)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`),
  // 103 Early Hints, flushed on its own, then the final answer.
  '/fault/103': (s) => {
    s.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n', () => {
      if (!s.destroyed) s.end(okResponse('final body\n'));
    });
  },
  // Declares 1000 bytes, sends 100, closes.
  '/fault/short': (s) => s.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'x'.repeat(100)}`),
  // Chunked (no length to check against): two chunks, then the process "dies" (socket destroyed).
  '/fault/die': (s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n', () => s.destroy());
  },
  // Headers and 10 of 1000 bytes, then nothing (the connection stays open).
  '/fault/stall': (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(10)}`),
  '/fault/trickle': trickleBody,
};

/**
 * rawSetup starts the raw backend (FAULTS by path, else a normal 200) and a
 * daemon on it alone, with passive ejection off (so its one backend is never
 * ejected by the faults: the 500-storm case turns it on), serves a warm-up
 * request and takes the leak baseline.
 */
async function rawSetup(t: TestContext, extra = '') {
  const rb = await startRawBackend(t, (path) => FAULTS[path]);
  const d = await startTestDaemon(t, yamlConfig([rb.url], `passive:\n  consecutiveFailures: 0\n${extra}`));
  const ok = async (what: string) => {
    const r = await request(`${d.url}/ok`, { timeoutMs: 5000 });
    assert.equal(r.status, 200, `${what}: ${r.status} ${r.body}`);
    assert.equal(r.body, 'ok /ok\n', what);
  };
  await ok('warm-up');
  const base = await quietBaseline();
  const clean = async (allow?: Counts) => {
    await ok('a normal request after the case');
    await backToBaseline(base, { timeoutMs: 5000, allow });
  };
  return { ...d, rb, ok, clean, base };
}

/** expect502 asserts a fast 502 with a YALB_ERR_* code (no hang), and returns the code. */
async function expect502(url: string, what: string): Promise<string> {
  const r = await exchange(url, { timeoutMs: CLIENT_DEADLINE });
  assert.equal(r.timedOut, false, `${what}: the client was left hanging`);
  assert.equal(r.status, 502, `${what}: ${r.status} ${r.error ?? ''} ${r.body.toString()}`);
  assert.match(String(r.headers['x-yalb-error']), /^YALB_ERR_/, what);
  assert.ok(r.ms < CLOSED_WITHIN, `${what}: 502 after ${Math.round(r.ms)} ms`);
  return String(r.headers['x-yalb-error']);
}

/** expectClosed asserts that the client got a response head and then had its connection closed before the body was complete — long before its own deadline. */
async function expectClosed(url: string, what: string, within = CLOSED_WITHIN) {
  const r = await exchange(url, { timeoutMs: CLIENT_DEADLINE });
  assert.equal(r.timedOut, false, `${what}: the client was left hanging for ${CLIENT_DEADLINE} ms`);
  assert.equal(r.complete, false, `${what}: the response must not look complete (got ${r.body.length} bytes)`);
  assert.ok(r.error, `${what}: the client must see the connection close`);
  assert.ok(r.ms < within, `${what}: closed after ${Math.round(r.ms)} ms`);
  return r;
}

test(`[${ENGINE}] a backend that refuses connections: 503 (none up) or 502 (every attempt failed), fast; served once it listens`, async (t) => {
  const port = await deadPort();
  const { daemon, url } = await startTestDaemon(t, yamlConfig([`http://127.0.0.1:${port}`], 'healthCheck:\n  interval: 100ms\n  timeout: 100ms\n  rise: 1\n  fall: 1\n'));
  const codes = new Set<string>();
  const warm = await exchange(`${url}/warm-up`, { timeoutMs: CLIENT_DEADLINE });
  assert.ok([502, 503].includes(warm.status), `warm-up: ${warm.status}`);
  const base = await quietBaseline();
  for (let i = 0; i < 5; i++) {
    const r = await exchange(`${url}/refused/${i}`, { timeoutMs: CLIENT_DEADLINE });
    assert.equal(r.timedOut, false);
    assert.ok(r.ms < CLOSED_WITHIN, `answered after ${Math.round(r.ms)} ms`);
    const code = String(r.headers['x-yalb-error']);
    // CONTRACT: 503 when no backend is up (the probes found it down); 502 when every attempt failed.
    if (r.status === 503) assert.equal(code, 'YALB_ERR_NO_BACKEND');
    else assert.deepEqual([r.status, code], [502, 'YALB_ERR_UPSTREAM_CONNECT']);
    codes.add(`${r.status} ${code}`);
  }
  t.diagnostic(`refused: ${[...codes].join(', ')}`);
  // The port starts listening: the probes find it and it is served.
  const b = await startHttpBackend(t, (_req, res) => res.end('back\n'), { port });
  await waitFor(async () => (await request(`${url}/again`, { timeoutMs: 5000 })).body === 'back\n', { what: 'served once the backend listens', timeoutMs: 5000 });
  assert.equal((await request(`${url}/ok`)).status, 200);
  assert.equal(daemon.current.pool.backends.length, 1);
  await backToBaseline(base, { allow: { TCPServerWrap: 1 } }); // the backend started in the case
  await b.stop();
});

test(`[${ENGINE}] a backend that accepts and closes at once: 502`, async (t) => {
  const { url, rb, clean } = await rawSetup(t);
  rb.onAccept = (s: net.Socket) => s.destroy();
  const code = await expect502(`${url}/x`, 'accept and close');
  rb.onAccept = undefined;
  t.diagnostic(`accept and close: 502 ${code}`);
  await clean();
});

test(`[${ENGINE}] a backend that closes (FIN) or resets (RST) after reading the request, before any header: 502`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const fin = await expect502(`${url}/fault/fin`, 'FIN before headers');
  const rst = await expect502(`${url}/fault/reset`, 'RST before headers');
  t.diagnostic(`FIN: 502 ${fin}; RST: 502 ${rst}`);
  await clean();
});

test(`[${ENGINE}] a backend that answers garbage instead of HTTP: 502`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const code = await expect502(`${url}/fault/garbage`, 'garbage');
  t.diagnostic(`garbage: 502 ${code}`);
  await clean();
});

test(`[${ENGINE}] response headers over the limit (a 100 KiB header): 502`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const code = await expect502(`${url}/fault/bighead`, '100 KiB response header');
  t.diagnostic(`100 KiB response header: 502 ${code}`);
  await clean();
});

test(`[${ENGINE}] 103 Early Hints before the final response: the client gets the final 200 and its body`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const r = await exchange(`${url}/fault/103`, { timeoutMs: CLIENT_DEADLINE });
  assert.equal(r.timedOut, false);
  assert.equal(r.status, 200, `${r.status} ${r.error ?? ''}`);
  assert.equal(r.complete, true);
  assert.equal(r.body.toString(), 'final body\n');
  t.diagnostic(`1xx forwarded to the client: [${r.informational.join(', ')}]`);
  await clean();
});

test(`[${ENGINE}] Content-Length larger than the body, then close: the client connection is closed, not left hanging`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const r = await expectClosed(`${url}/fault/short`, 'short body');
  assert.equal(r.status, 200, 'the head had started');
  assert.ok(r.body.length <= 100, `${r.body.length} body bytes`);
  t.diagnostic(`short body: ${r.body.length} of 1000 bytes, closed after ${Math.round(r.ms)} ms (${r.error})`);
  await clean();
});

test(`[${ENGINE}] a backend that dies mid-body (chunked): the client connection is closed, never ended as complete`, async (t) => {
  const { url, clean } = await rawSetup(t);
  const r = await expectClosed(`${url}/fault/die`, 'die mid-body');
  assert.equal(r.status, 200);
  assert.ok(r.body.toString().length <= 'hello world'.length, r.body.toString());
  t.diagnostic(`die mid-body: got ${JSON.stringify(r.body.toString())}, closed after ${Math.round(r.ms)} ms (${r.error})`);
  await clean();
});

test(`[${ENGINE}] a backend that stalls after its headers: closed after timeouts.idle (300ms); others served meanwhile`, async (t) => {
  const { url, rb, ok, clean } = await rawSetup(t, 'timeouts:\n  idle: 300ms\n');
  const stalled = expectClosed(`${url}/fault/stall`, 'stall after headers');
  await waitFor(() => rb.heads.some((h) => h.path === '/fault/stall'), { what: 'the stalled request at the backend' });
  await ok('a normal request while one exchange is stalled');
  const r = await stalled;
  assert.equal(r.status, 200);
  assert.ok(r.ms >= 250, `closed after ${Math.round(r.ms)} ms: before timeouts.idle?`);
  t.diagnostic(`stall: closed after ${Math.round(r.ms)} ms (${r.error}), ${r.body.length} of 1000 bytes`);
  // The daemon closed its side towards the backend too (the leak check below would catch it otherwise).
  await waitFor(() => rb.open() === 0, { what: 'the stalled backend connection closed by the daemon', timeoutMs: 3000 });
  await clean();
});

test(`[${ENGINE}] a backend that sends one byte per 100 ms for 1.5 s passes (timeouts.idle 300ms is never reached)`, async (t) => {
  const { url, ok, clean } = await rawSetup(t, 'timeouts:\n  idle: 300ms\n');
  const slow = exchange(`${url}/fault/trickle`, { timeoutMs: CLIENT_DEADLINE });
  await ok('a normal request during the trickle');
  const r = await slow;
  assert.equal(r.timedOut, false);
  assert.equal(r.error, undefined, `the trickle was cut: ${r.error} after ${Math.round(r.ms)} ms with ${JSON.stringify(r.body.toString())}`);
  assert.equal(r.status, 200);
  assert.equal(r.complete, true);
  assert.equal(r.body.toString(), 'abcdefghijklmno');
  assert.ok(r.ms >= 1300, `took ${Math.round(r.ms)} ms`);
  await clean();
});

test(`[${ENGINE}] a 500-storm: 500s pass through, the daemon stays up, the backend is ejected (logged), others keep serving`, async (t) => {
  const storm = await startHttpBackend(t, (_req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('storm 500\n');
  });
  const good = await startHttpBackend(t, (_req, res) => res.end('good\n'));
  const { url, logs, daemon } = await startTestDaemon(t, yamlConfig([storm.url, good.url], 'passive:\n  consecutiveFailures: 5\n  ejectFor: 30s\n  maxEjectedPercent: 50\n'));
  // The warm-up goes to one of the two (round robin): a 500 counts towards the ejection too.
  const warm = await request(`${url}/warm-up`);
  const base = await quietBaseline();
  let passed500 = warm.status === 500 ? 1 : 0;
  let ok200 = 0;
  // Bounded: at most 40 requests, 4 at a time, until the ejection is logged.
  const line = `backend ${storm.url} ejected`;
  for (let i = 0; i < 10 && !logs.has(line); i++) {
    const rs = await Promise.all(Array.from({ length: 4 }, (_, j) => exchange(`${url}/storm/${i}/${j}`, { timeoutMs: 5000 })));
    for (const r of rs) {
      assert.equal(r.timedOut, false);
      if (r.status === 500) {
        assert.equal(r.body.toString(), 'storm 500\n', 'the backend\'s own 500, passed through');
        assert.equal(r.headers['x-yalb-error'], undefined, 'not a yalb error');
        passed500++;
      } else {
        assert.deepEqual([r.status, r.body.toString()], [200, 'good\n']);
        ok200++;
      }
    }
  }
  assert.ok(logs.has(line), `ejection logged (after ${passed500} 500s, ${ok200} 200s)`);
  assert.ok(passed500 >= 5, `${passed500} 500s passed through`);
  // Once ejected, every request goes to the good backend.
  for (let i = 0; i < 6; i++) {
    const r = await request(`${url}/after/${i}`, { timeoutMs: 5000 });
    assert.deepEqual([r.status, r.body], [200, 'good\n']);
  }
  assert.equal(daemon.current.pool.backends.length, 2);
  t.diagnostic(`storm: ${passed500} 500s passed through, ${ok200} 200s; logged: ${logs.lines.find((l) => l.includes(line))}`);
  await backToBaseline(base);
});

test(`[${ENGINE}] a backend that comes back as a different process on the same port is served again`, async (t) => {
  // The first process keeps connections alive: the daemon holds pooled connections to a process that goes away.
  const first = await startHttpBackend(t, (_req, res) => res.end('first\n'), { keepAlive: true });
  const { url } = await startTestDaemon(t, yamlConfig([first.url], 'healthCheck:\n  interval: 100ms\n  timeout: 100ms\n  rise: 1\n  fall: 1\n'));
  const warm = await request(`${url}/warm-up`);
  assert.equal(warm.body, 'first\n');
  // Two in parallel: more than one pooled connection.
  await Promise.all([request(`${url}/a`), request(`${url}/b`)]);
  await first.stop();
  const base = await quietBaseline();
  // While it is gone: answered at once (502 or 503), never hung.
  const gone = await exchange(`${url}/gone`, { timeoutMs: CLIENT_DEADLINE });
  assert.equal(gone.timedOut, false);
  assert.ok([502, 503].includes(gone.status), `while gone: ${gone.status} ${gone.body.toString()}`);
  const second = await startHttpBackend(t, (_req, res) => res.end('second\n'), { port: first.port });
  await waitFor(async () => (await request(`${url}/x`, { timeoutMs: 5000 })).body === 'second\n', { what: 'the new process served', timeoutMs: 5000 });
  for (let i = 0; i < 5; i++) {
    const r = await request(`${url}/y/${i}`, { timeoutMs: 5000 });
    assert.deepEqual([r.status, r.body], [200, 'second\n']);
  }
  t.diagnostic(`while gone: ${gone.status} ${String(gone.headers['x-yalb-error'])}`);
  await backToBaseline(base, { allow: { TCPServerWrap: 1 } }); // the second process
  await second.stop();
});

// Backends are origins (CONTRACT.md): a base path in a backend URL is refused
// with a clear error at `yalb check` / start / reload, never silently dropped
// or joined. Serving under a prefix is the routes issue's stripPrefix.
test(`[${ENGINE}] a backend URL with a base path is refused with a clear error (YALB_ERR_CONFIG_INVALID)`, async (t) => {
  const b = await startHttpBackend(t, (_req, res) => res.end('ok\n'));
  await assert.rejects(startTestDaemon(t, yamlConfig([`${b.url}/base`])), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'YALB_ERR_CONFIG_INVALID');
    assert.match(err.message, /backend URL must not have a path/);
    return true;
  });
});
