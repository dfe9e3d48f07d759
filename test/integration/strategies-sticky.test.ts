/**
 * Sticky sessions over real HTTP (`sticky: { cookie: yalb_sticky }` with
 * round-robin): the first response sets an opaque cookie, later requests
 * carrying it stay on that backend, forged values are ignored, and when the
 * backend goes down (by health check, or found by the retry path before any
 * probe noticed) the request goes elsewhere and the cookie is reset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { type Reply, request, startTestDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const COOKIE = 'yalb_sticky';
const COOKIE_SHAPE = /^yalb_sticky=([0-9a-f]{16}); Path=\/; HttpOnly; SameSite=Lax$/;

// Probes every second with a 1 s timeout (the interval may not be shorter than the timeout): with
// fall 1, a probe slowed past a shorter timeout by a busy machine would take a live backend down.
const everySecond = 'interval: 1s\n  timeout: 1s';

function yamlFor(backends: TestBackend[], extra = ''): string {
  return `listen: 127.0.0.1:0\nstrategy: round-robin\nsticky:\n  cookie: ${COOKIE}\n${extra}backends:\n${backends.map((b) => `  - url: ${b.url}\n`).join('')}`;
}

/** stickySet returns the yalb_sticky Set-Cookie line of a reply (asserting there is exactly one), or undefined. */
function stickySet(r: Reply): string | undefined {
  const lines = (r.headers['set-cookie'] ?? []).filter((l) => l.startsWith(`${COOKIE}=`));
  assert.ok(lines.length <= 1, `several ${COOKIE} cookies set: ${JSON.stringify(lines)}`);
  return lines[0];
}

/** stickyValue asserts a reply set a well-formed sticky cookie and returns its value. */
function stickyValue(r: Reply): string {
  const line = stickySet(r);
  assert.ok(line, `no ${COOKIE} cookie set; set-cookie: ${JSON.stringify(r.headers['set-cookie'])}`);
  const m = COOKIE_SHAPE.exec(line);
  assert.ok(m, `malformed sticky cookie: ${line}`);
  return m[1]!;
}

function served(r: Reply): string {
  assert.equal(r.status, 200, r.body);
  return r.body.trim();
}

/** learnIds sends one cookieless request per backend (round robin visits each) and maps backend name → sticky id. */
async function learnIds(url: string, n: number): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const r = await request(url);
    ids.set(served(r), stickyValue(r));
  }
  assert.equal(ids.size, n, `round robin did not visit every backend: ${JSON.stringify([...ids])}`);
  assert.equal(new Set(ids.values()).size, n, 'two backends share a sticky id');
  return ids;
}

test('sticky: the first response sets an opaque cookie and 20 requests carrying it stay on its backend', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlFor(bs));

  const r0 = await request(url);
  const home = served(r0);
  const line = stickySet(r0);
  assert.ok(line, 'the first response set no sticky cookie');
  assert.match(line, COOKIE_SHAPE);
  assert.doesNotMatch(line, /secure/i, 'Secure must not be set over plain HTTP');
  for (const b of bs) {
    assert.ok(!line.includes(b.url) && !line.includes(String(b.port)), `the cookie leaks a backend address: ${line}`);
  }
  assert.ok(!line.includes('127.0.0.1'), `the cookie leaks a backend address: ${line}`);
  const id = stickyValue(r0);

  for (let i = 0; i < 20; i++) {
    const r = await request(url, { headers: { cookie: `${COOKIE}=${id}` } });
    assert.equal(served(r), home, `request ${i + 1} with the cookie left ${home}`);
    const again = stickySet(r);
    if (again !== undefined) assert.equal(COOKIE_SHAPE.exec(again)?.[1], id, 'a followed cookie was changed');
  }
  // Among other cookies, too.
  for (let i = 0; i < 5; i++) {
    const r = await request(url, { headers: { cookie: `a=1; ${COOKIE}=${id}; b=2` } });
    assert.equal(served(r), home);
  }
  const homeBackend = bs.find((b) => b.name === home)!;
  assert.equal(homeBackend.hits, 26);

  // The id names the backend: fresh clients on each backend get that backend's id, the same each time.
  const ids = await learnIds(url, 3);
  assert.equal(ids.get(home), id);
  assert.deepEqual(await learnIds(url, 3), ids);
});

test('sticky: forged or malformed cookie values are ignored; the request is served and a fresh cookie set', async (t) => {
  const bs = await startBackends(t, 3);
  const { url } = await startTestDaemon(t, yamlFor(bs));
  const ids = await learnIds(url, 3);
  const someId = ids.get('b1')!;
  const forged = [
    'deadbeefdeadbeef', // well formed, names no backend
    someId.toUpperCase(), // not lower-case hex
    `${someId}00`, // too long
    someId.slice(0, 15), // too short
    `"${someId}"`, // quoted
    bs[0]!.url, // the backend URL itself
    `${bs[1]!.url.replace('http://', '')}`, // host:port
    'zzzzzzzzzzzzzzzz',
    '',
  ];
  // Each forged value, three times in a row: served every time, never pinned (round robin visits all
  // three backends), and every response resets the cookie to the backend that actually served.
  for (const value of forged) {
    const names = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await request(url, { headers: { cookie: `${COOKIE}=${value}` } });
      const name = served(r);
      names.add(name);
      assert.equal(stickyValue(r), ids.get(name), `forged value ${JSON.stringify(value)}: cookie not reset to ${name}`);
    }
    assert.equal(names.size, 3, `forged value ${JSON.stringify(value)} pinned the requests to ${[...names].join(', ')}`);
  }
});

test('sticky: when its backend is marked down by health checks, the request goes elsewhere and the cookie is reset', async (t) => {
  const bs = await startBackends(t, 3);
  const { url, daemon } = await startTestDaemon(
    t, yamlFor(bs, `healthCheck:\n  ${everySecond}\n  fall: 1\n  rise: 1\n`),
  );
  const ids = await learnIds(url, 3);
  const r0 = await request(url);
  const home = served(r0);
  const homeBackend = bs.find((b) => b.name === home)!;
  const oldId = stickyValue(r0);
  assert.equal(oldId, ids.get(home));

  await homeBackend.stop();
  await waitFor(() => daemon.current.pool.backend(homeBackend.url)?.state.health === 'down', {
    timeoutMs: 10_000, what: `${home} to be marked down by the health check`,
  });

  const r1 = await request(url, { headers: { cookie: `${COOKIE}=${oldId}` } });
  const moved = served(r1);
  assert.notEqual(moved, home);
  const newId = stickyValue(r1);
  assert.equal(newId, ids.get(moved), 'the cookie was not reset to the backend that served');
  for (let i = 0; i < 20; i++) {
    assert.equal(served(await request(url, { headers: { cookie: `${COOKIE}=${newId}` } })), moved);
  }

  // The old backend comes back: the new cookie stays where it is, the old one finds its backend again.
  await homeBackend.start();
  await waitFor(() => daemon.current.pool.backend(homeBackend.url)?.state.health === 'up', {
    timeoutMs: 10_000, what: `${home} to come back up`,
  });
  for (let i = 0; i < 5; i++) {
    assert.equal(served(await request(url, { headers: { cookie: `${COOKIE}=${newId}` } })), moved);
  }
  const back = await request(url, { headers: { cookie: `${COOKIE}=${oldId}` } });
  assert.equal(served(back), home);
});

test('sticky: a backend that died before any probe noticed is skipped by the retry path and the cookie reset', async (t) => {
  const bs = await startBackends(t, 3);
  // Probes every 20 s (the default): only the start-up probe runs during the test.
  const { url, daemon } = await startTestDaemon(t, yamlFor(bs));
  const ids = await learnIds(url, 3);
  const r0 = await request(url);
  const home = served(r0);
  const homeBackend = bs.find((b) => b.name === home)!;
  const oldId = stickyValue(r0);

  await homeBackend.stop();
  assert.equal(daemon.current.pool.backend(homeBackend.url)?.state.health, 'up', 'a probe already saw it down');

  const r1 = await request(url, { headers: { cookie: `${COOKIE}=${oldId}` } });
  const moved = served(r1);
  assert.notEqual(moved, home);
  const newId = stickyValue(r1);
  assert.equal(newId, ids.get(moved), 'the cookie was not reset to the backend that served');
  for (let i = 0; i < 20; i++) {
    assert.equal(served(await request(url, { headers: { cookie: `${COOKIE}=${newId}` } })), moved);
  }
  // The old cookie keeps being served by someone else (its backend is down) and keeps being reset.
  const r2 = await request(url, { headers: { cookie: `${COOKIE}=${oldId}` } });
  assert.notEqual(served(r2), home);
  assert.equal(stickyValue(r2), ids.get(r2.body.trim()));
});

test('sticky: a cookie is not followed to a backend that HTTP health checks mark down, even though it still answers', async (t) => {
  const bs = await startBackends(t, 3);
  const { url, daemon } = await startTestDaemon(
    t, yamlFor(bs, `healthCheck:\n  path: /health\n  ${everySecond}\n  fall: 1\n  rise: 1\n`),
  );
  const ids = await learnIds(url, 3);
  const r0 = await request(url);
  const home = served(r0);
  const homeBackend = bs.find((b) => b.name === home)!;
  const oldId = stickyValue(r0);

  // The backend keeps serving traffic but fails its probe: only the health state can keep the cookie away.
  homeBackend.behaviour = {
    kind: 'custom',
    handler: (req, res) => {
      const failing = req.url === '/health';
      res.writeHead(failing ? 503 : 200, { 'x-backend': home });
      res.end(failing ? 'unhealthy\n' : `${home}\n`);
    },
  };
  await waitFor(() => daemon.current.pool.backend(homeBackend.url)?.state.health === 'down', {
    timeoutMs: 10_000, what: `${home} to be marked down by the HTTP probe`,
  });
  const seen = homeBackend.seen.length;
  for (let i = 0; i < 10; i++) {
    const r = await request(url, { headers: { cookie: `${COOKIE}=${oldId}` } });
    const name = served(r);
    assert.notEqual(name, home, `request ${i + 1} followed the cookie to a backend marked down`);
    assert.equal(stickyValue(r), ids.get(name), 'the cookie was not reset to the backend that served');
  }
  const proxied = homeBackend.seen.slice(seen).filter((s) => s.url !== '/health');
  assert.equal(proxied.length, 0, `the down backend still got ${proxied.length} proxied requests`);
});
