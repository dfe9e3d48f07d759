/**
 * Fault suite, client half (issue 12, item 4): clients that misbehave —
 * slowloris, thousands of idle keep-alive connections, oversized or
 * malformed heads, smuggling-shaped framing, aborted uploads, pipelining,
 * Expect: 100-continue, a client that never reads a large response.
 *
 * Each case asserts what the client sees, that the balancer still serves a
 * normal request (during the fault where it lasts, and after it), and that
 * no socket, server or ref'd timer of the process is left behind: the
 * resource counts come back to the baseline taken after start-up and a
 * warm-up request. Real parts only: a node:http backend on 127.0.0.1:0
 * (which keeps no connection alive, so a quiet daemon holds no socket), the
 * real daemon in this process, real HTTP over sockets. Runs on the engine
 * YALB_TEST_ENGINE names (default: lb.yaml's).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ListenerOptions } from '../../src/proxy/server.js';
import { request, startTestDaemon, TEST_ENGINE, yamlConfig } from '../helpers/daemon.js';
import { backToBaseline, type Counts, exchange, fdLimit, quietBaseline, startHttpBackend } from '../helpers/faults.js';
import { rawExchange, statusLine } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

const ENGINE = TEST_ENGINE ?? 'default engine';
const MiB = 1024 * 1024;
const BIG = 50 * MiB;

/** Seen is what the backend recorded of one request. */
interface Seen {
  path: string;
  bytes: number;
  sha: string;
  ended: boolean;
  closed: boolean;
  complete: boolean;
}

/** BigState follows the 50 MiB response the backend writes with backpressure. */
interface BigState {
  written: number;
  /** waitingForDrain: write() said the path to the client is full; the backend waits for 'drain'. */
  waitingForDrain: boolean;
  finished: boolean;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x7a);

/** writeBig streams BIG bytes, one reused 64 KiB chunk at a time, waiting for 'drain' whenever write() says so. */
function writeBig(res: http.ServerResponse, st: BigState): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
  const pump = () => {
    st.waitingForDrain = false;
    while (st.written < BIG) {
      const n = Math.min(CHUNK.length, BIG - st.written);
      st.written += n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        st.waitingForDrain = true;
        res.once('drain', pump);
        return;
      }
    }
    res.end(() => { st.finished = true; });
  };
  pump();
}

/**
 * setup starts a recording backend and a daemon on it, serves a warm-up
 * request and takes the leak baseline. `clean()` is the end of every case:
 * a normal request gets 200, and the resource counts return to the baseline.
 */
async function setup(t: TestContext, opts: { listener?: ListenerOptions; extra?: string } = {}) {
  const seen: Seen[] = [];
  const big: BigState = { written: 0, waitingForDrain: false, finished: false };
  const timers = new Set<NodeJS.Timeout>();
  const backend = await startHttpBackend(t, (req, res) => {
    const s: Seen = { path: req.url ?? '', bytes: 0, sha: '', ended: false, closed: false, complete: false };
    seen.push(s);
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => {
      s.bytes += c.length;
      hash.update(c);
    });
    req.on('close', () => {
      s.closed = true;
      s.complete = req.complete;
    });
    req.on('end', () => {
      s.ended = true;
      s.sha = hash.digest('hex');
      if (s.path === '/big') return writeBig(res, big);
      const body = `ok ${s.path} ${s.bytes}\n`;
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      // The first of the pipelined requests answers last, so a proxy that
      // answered in completion order would be caught.
      if (s.path === '/pipe/1') {
        const tm = setTimeout(() => {
          timers.delete(tm);
          answer();
        }, 100);
        timers.add(tm);
        res.on('close', () => {
          clearTimeout(tm);
          timers.delete(tm);
        });
        return;
      }
      answer();
    });
  });
  t.after(() => {
    for (const tm of timers) clearTimeout(tm);
  });
  const d = await startTestDaemon(t, yamlConfig([backend.url], opts.extra ?? ''), { listener: opts.listener });
  const port = d.daemon.address.port;
  const ok = async (what: string) => {
    const r = await request(`${d.url}/ok`, { timeoutMs: 5000 });
    assert.equal(r.status, 200, `${what}: ${r.status} ${r.body}`);
    assert.equal(r.body, 'ok /ok 0\n', what);
  };
  await ok('warm-up');
  const base: Counts = await quietBaseline();
  const clean = async (allow?: Counts) => {
    await ok('a normal request after the case');
    await backToBaseline(base, { timeoutMs: 5000, allow });
  };
  return { ...d, port, backend, seen, big, ok, clean, base };
}

/**
 * trickle connects and sends `text` one byte every `everyMs` until the
 * daemon closes the connection or `maxMs` passes; it reports what came back.
 */
function trickle(port: number, text: string, everyMs: number, maxMs: number): Promise<{ data: Buffer; closed: boolean; ms: number; sent: number }> {
  return new Promise((resolve) => {
    const start = performance.now();
    const got: Buffer[] = [];
    let sent = 0;
    let done = false;
    const socket = net.connect(port, '127.0.0.1');
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      clearTimeout(limit);
      socket.destroy();
      resolve({ data: Buffer.concat(got), closed, ms: performance.now() - start, sent });
    };
    const tick = setInterval(() => {
      if (sent < text.length && socket.writable) socket.write(text[sent++]!);
    }, everyMs);
    const limit = setTimeout(() => finish(false), maxMs);
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/**
 * openIdle opens `count` client connections (`batch` at a time), sends one
 * keep-alive request on each, reads its whole answer and leaves the
 * connection open and idle. Each socket is bounded by `perSocketMs`.
 */
async function openIdle(port: number, count: number, batch: number, perSocketMs: number): Promise<net.Socket[]> {
  const all: net.Socket[] = [];
  const one = () => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    all.push(s);
    let got = '';
    const timer = setTimeout(() => reject(new Error(`idle connection ${all.length}: no answer in ${perSocketMs} ms`)), perSocketMs);
    const onData = (c: Buffer) => {
      got += c.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      const m = /content-length: (\d+)/i.exec(got);
      if (end >= 0 && m && got.length >= end + 4 + Number(m[1])) {
        clearTimeout(timer);
        s.off('data', onData);
        if (!got.startsWith('HTTP/1.1 200')) return reject(new Error(`idle connection: ${got.split('\r\n')[0]}`));
        resolve(s);
      }
    };
    s.on('data', onData);
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  try {
    for (let i = 0; i < count; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, count - i) }, one));
    }
  } catch (err) {
    for (const s of all) s.destroy();
    throw err;
  }
  return all;
}

test(`[${ENGINE}] slowloris: headers one byte per 200 ms get 408 within headersTimeout`, async (t) => {
  const headersTimeoutMs = 1000;
  const { port, ok, clean, seen } = await setup(t, { listener: { headersTimeoutMs } });
  const head = 'GET /slowloris HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n';
  const slow = trickle(port, head, 200, 8000);
  // While it trickles, other clients are served.
  await ok('a normal request during the slowloris');
  const r = await slow;
  assert.equal(r.closed, true, `still open after ${Math.round(r.ms)} ms`);
  assert.equal(statusLine(r.data), 'HTTP/1.1 408 Request Timeout');
  // Node sweeps for the deadline every headersTimeout/4: 408 between the deadline and a little after it.
  assert.ok(r.ms >= headersTimeoutMs - 100 && r.ms < headersTimeoutMs + 1500, `408 after ${Math.round(r.ms)} ms (${r.sent} bytes sent)`);
  assert.ok(r.sent < head.length, 'the head never completed');
  assert.equal(seen.filter((s) => s.path === '/slowloris').length, 0, 'nothing reached the backend');
  await clean();
});

test(`[${ENGINE}] 2,000 idle keep-alive connections do not starve a new client`, async (t) => {
  const { port, url, clean, seen } = await setup(t);
  // Each idle connection is two descriptors in this process (client and
  // daemon side), plus a transient one towards the backend while it is opened.
  const limit = fdLimit();
  const wanted = 2000;
  const count = limit === undefined ? wanted : Math.min(wanted, Math.floor((limit - 300) / 3));
  if (count < wanted) t.diagnostic(`fd limit ${limit}: using ${count} idle connections instead of ${wanted}`);
  assert.ok(count >= 100, `fd limit ${limit} too low for this case`);
  const started = performance.now();
  const idle = await openIdle(port, count, 200, 15_000);
  t.after(() => {
    for (const s of idle) s.destroy();
  });
  const openedMs = performance.now() - started;
  let closedEarly = 0;
  for (const s of idle) s.once('close', () => closedEarly++);
  assert.equal(seen.filter((s) => s.path === '/idle').length, count);
  // A new client, with every idle connection still open.
  const t0 = performance.now();
  const r = await request(`${url}/ok`, { timeoutMs: 5000 });
  const newMs = performance.now() - t0;
  assert.equal(r.status, 200);
  assert.ok(newMs < 2000, `a new client waited ${Math.round(newMs)} ms`);
  // A second request on one of the idle connections still works too.
  const reused = await new Promise<string>((resolve, reject) => {
    const s = idle[0]!;
    let got = '';
    const timer = setTimeout(() => reject(new Error('no answer on a reused idle connection')), 5000);
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('ok /again 0\n')) {
        clearTimeout(timer);
        resolve(got);
      }
    });
    s.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  assert.match(reused, /^HTTP\/1\.1 200/);
  assert.equal(closedEarly, 0, 'the daemon closed none of the idle connections');
  t.diagnostic(`${count} idle connections opened in ${Math.round(openedMs)} ms; a new client got 200 in ${Math.round(newMs)} ms`);
  for (const s of idle) s.destroy();
  await clean();
});

test(`[${ENGINE}] headers of 64 KiB get 431 (one big header, or many small ones) and reach no backend`, async (t) => {
  const { port, clean, seen } = await setup(t);
  const oneBig = `GET /big-head HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
  const many = `GET /many-heads HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 64 }, (_, i) => `X-H${i}: ${'b'.repeat(1020)}\r\n`).join('')}\r\n`;
  for (const [name, head] of [['one 64 KiB header', oneBig], ['64 headers of 1 KiB', many]] as const) {
    const r = await rawExchange(port, [head], 5000);
    assert.equal(r.closed, true, `${name}: connection left open`);
    assert.equal(statusLine(r.data), 'HTTP/1.1 431 Request Header Fields Too Large', name);
  }
  assert.equal(seen.length, 1, 'only the warm-up reached the backend');
  await clean();
});

test(`[${ENGINE}] malformed request lines and invalid header bytes get 400 and reach no backend`, async (t) => {
  const { port, clean, seen } = await setup(t);
  const bad: Array<[string, string | Buffer]> = [
    ['not a request line', 'GARBAGE\r\n\r\n'],
    ['extra token after the version', 'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n'],
    ['unknown version', 'GET / HTTP/7.3\r\nHost: x\r\n\r\n'],
    ['NUL in the target', 'GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['space in the target', 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['TLS ClientHello on a plain port', Buffer.from('1603010200010001fc0303', 'hex')],
    ['header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['invalid byte in a header name', 'GET / HTTP/1.1\r\nHost: x\r\nX-(bad): y\r\n\r\n'],
    ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-T: a\x00b\r\n\r\n'],
    ['bare CR in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-T: a\rb\r\n\r\n'],
    ['control byte in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-T: a\x01b\r\n\r\n'],
    ['DEL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-T: a\x7fb\r\n\r\n'],
  ];
  for (const [name, raw] of bad) {
    const r = await rawExchange(port, [raw], 5000);
    assert.equal(statusLine(r.data), 'HTTP/1.1 400 Bad Request', `${name}: ${JSON.stringify(r.data.toString('latin1').slice(0, 80))}`);
    assert.equal(r.closed, true, `${name}: connection left open`);
  }
  assert.equal(seen.length, 1, `only the warm-up reached the backend: ${seen.map((s) => s.path).join(' ')}`);
  await clean();
});

test(`[${ENGINE}] conflicting Content-Length / Transfer-Encoding get 400 and are never forwarded`, async (t) => {
  const { port, clean, seen } = await setup(t);
  // Each body carries a second request: a proxy that picked one framing and a backend the other would split it off.
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const cases: Array<[string, string]> = [
    ['Content-Length and Transfer-Encoding', `POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['Transfer-Encoding and Content-Length', `POST /te-cl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n${smuggled}`],
    ['two different Content-Length', `POST /cl-cl HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
  ];
  for (const [name, raw] of cases) {
    const r = await rawExchange(port, [raw], 5000);
    assert.equal(statusLine(r.data), 'HTTP/1.1 400 Bad Request', `${name}: ${JSON.stringify(r.data.toString('latin1').slice(0, 80))}`);
    assert.equal(r.closed, true, `${name}: connection left open`);
  }
  assert.deepEqual(seen.map((s) => s.path), ['/ok'], 'the backend saw only the warm-up');
  await clean();
});

test(`[${ENGINE}] an upload aborted at half: the backend sees the abort`, async (t) => {
  const { url, clean, seen, daemon } = await setup(t);
  const declared = 2 * MiB; // far above retry.bufferLimit (64 KiB): streamed to the backend as it comes
  const req = http.request(`${url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': declared } });
  req.on('error', () => {});
  req.write(Buffer.alloc(declared / 2, 0x61));
  await waitFor(() => seen.some((s) => s.path === '/upload' && s.bytes > 0), { what: 'the body streaming to the backend' });
  req.destroy();
  const s = await waitFor(() => seen.find((x) => x.path === '/upload' && x.closed), { what: 'the backend request closed', timeoutMs: 5000 });
  assert.equal(s.complete, false, 'the backend request must be aborted, not completed');
  assert.equal(s.ended, false, 'the backend never saw the end of the body');
  assert.ok(s.bytes <= declared / 2, `backend read ${s.bytes} bytes`);
  await waitFor(() => (daemon.status() as { inFlight: number }).inFlight === 0, { what: 'the request ended in the daemon' });
  assert.equal(daemon.current.pool.backends[0]!.traffic.failures, 0, 'a client abort is not a backend failure');
  await clean();
});

test(`[${ENGINE}] three pipelined requests in one write are answered in order`, async (t) => {
  const { port, clean } = await setup(t);
  const raw = 'GET /pipe/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const r = await rawExchange(port, [raw], 5000);
  assert.equal(r.closed, true, 'Connection: close on the last one ends the connection');
  const text = r.data.toString('latin1');
  const statuses = text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'], text);
  const order = [1, 2, 3].map((i) => text.indexOf(`ok /pipe/${i} 0\n`));
  assert.ok(order.every((i) => i > 0), `every answer arrived: ${order}`);
  assert.ok(order[0]! < order[1]! && order[1]! < order[2]!, `answers in request order: ${order}`);
  await clean();
});

test(`[${ENGINE}] Expect: 100-continue uploads arrive intact (buffered and streamed sizes)`, async (t) => {
  const { url, clean, seen } = await setup(t);
  for (const size of [1024, 512 * 1024]) {
    const body = randomBytes(size);
    const sha = createHash('sha256').update(body).digest('hex');
    const path = `/continue/${size}`;
    const r = await new Promise<{ status: number; text: string; info: number[]; sentAfter: string }>((resolve, reject) => {
      const info: number[] = [];
      let sentAfter = '';
      const req = http.request(`${url}${path}`, { method: 'PUT', agent: false, headers: { expect: '100-continue', 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => {
          clearTimeout(fallback);
          clearTimeout(limit);
          resolve({ status: res.statusCode ?? 0, text, info, sentAfter });
        });
      });
      const send = (why: string) => {
        if (sentAfter) return;
        sentAfter = why;
        req.end(body);
      };
      req.on('information', (i) => info.push(i.statusCode));
      req.on('continue', () => send('100 Continue'));
      // As curl does: a server that says nothing within 1 s gets the body anyway.
      const fallback = setTimeout(() => send('no 100 within 1 s'), 1000);
      const limit = setTimeout(() => req.destroy(new Error('client timeout')), 10_000);
      req.on('error', (e) => {
        clearTimeout(fallback);
        clearTimeout(limit);
        reject(e);
      });
      req.flushHeaders();
    });
    assert.equal(r.status, 200, `${size} bytes: ${r.text}`);
    assert.equal(r.text, `ok ${path} ${size}\n`);
    const s = seen.find((x) => x.path === path);
    assert.ok(s, 'the backend got the request');
    assert.equal(s.bytes, size);
    assert.equal(s.sha, sha, 'the body arrived byte-identical');
    t.diagnostic(`${size} bytes: body sent after ${r.sentAfter}; 1xx seen by the client: [${r.info.join(', ')}]`);
  }
  await clean();
});

test(`[${ENGINE}] a client that never reads a 50 MiB response does not grow memory (backpressure)`, async (t) => {
  const { port, clean, big, ok } = await setup(t);
  const rss0 = process.memoryUsage().rss;
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  socket.pause(); // read nothing
  socket.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const holdUntil = performance.now() + 2000;
  // The whole path fills up and the backend blocks on write().
  await waitFor(() => big.waitingForDrain, { what: 'the backend blocked by backpressure', timeoutMs: 5000 });
  await ok('a normal request while the slow reader holds a 50 MiB response');
  // The client keeps reading nothing for 2 s in all: sample the memory meanwhile.
  let peak = process.memoryUsage().rss;
  while (performance.now() < holdUntil) {
    await new Promise((r) => setTimeout(r, 50));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const stuckAt = big.written;
  const growth = peak - rss0;
  assert.ok(!big.finished && stuckAt < BIG / 2, `the backend wrote ${stuckAt} bytes without a reader`);
  // Now read it all: every byte arrives.
  const received = await new Promise<number>((resolve, reject) => {
    let n = 0;
    const timer = setTimeout(() => reject(new Error(`read ${n} bytes, then nothing for 20 s`)), 20_000);
    socket.on('data', (c: Buffer) => { n += c.length; });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(n);
    });
    socket.resume();
  });
  t.diagnostic(`engine ${ENGINE}: RSS growth while the client read nothing: ${(growth / MiB).toFixed(1)} MiB; the backend had written ${(stuckAt / MiB).toFixed(2)} of 50 MiB when the 2 s were over (the rest waited for 'drain')`);
  assert.ok(growth < 25 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  assert.ok(received > BIG, `received ${received} bytes (headers + ${BIG} body bytes expected)`);
  assert.equal(big.finished, true);
  await clean();
});
