/**
 * Routes and hot reload (issue 15): a reload that moves a path from one pool
 * to another under load fails no request; a reload that changes one pool
 * leaves the other pools' backend state untouched and its log line names the
 * pool; with workers: 2 the routes serve from every worker.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';
import { saveInPlace, waitForGeneration, waitForLog } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

function twoPools(web: TestBackend, api: TestBackend, apiPathTo: 'api' | 'web', extra = ''): string {
  return `listen: 127.0.0.1:0
healthCheck: { interval: 1m, timeout: 1s }
pools:
  web:
    backends: [ { url: "${web.url}" } ]
  api:
    backends: [ { url: "${api.url}" } ]
${extra}routes:
  - match: { pathPrefix: /api/ }
    pool: ${apiPathTo}
  - match: { pathPrefix: /v2/ }
    pool: ${apiPathTo === 'api' ? 'web' : 'api'}
  - pool: web
`;
}

test('a reload that moves /api/ from one pool to another under load: zero failed requests', async (t) => {
  const [web, api] = await startBackends(t, 2);
  const { daemon, file, url } = await startTestDaemon(t, twoPools(web!, api!, 'web'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const deadline = Date.now() + 30_000;
  const failures: string[] = [];
  const seen: string[] = [];
  let stop = false;
  let sent = 0;
  const loop = async (id: number) => {
    for (let i = 0; !stop && i < 3000 && Date.now() < deadline; i++) {
      sent++;
      try {
        const r = await request(`${url}/api/x?c=${id}&i=${i}`, { agent: id % 2 ? agent : undefined });
        if (r.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 80)}`);
        else seen.push(String(r.headers['x-backend']));
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const loops = [0, 1, 2, 3].map(loop);
  try {
    for (let k = 0; k < 6; k++) {
      const before = seen.length;
      await waitFor(() => seen.length >= before + 20 || Date.now() > deadline, { timeoutMs: 10_000 });
      saveInPlace(file, twoPools(web!, api!, k % 2 === 0 ? 'api' : 'web'));
      await waitForGeneration(daemon, k + 2, 10_000);
      const want = k % 2 === 0 ? 'b2' : 'b1';
      const at = seen.length;
      await waitFor(() => seen.slice(at).includes(want) || Date.now() > deadline, { timeoutMs: 10_000 });
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${sent} failed`);
  assert.ok(seen.includes('b1') && seen.includes('b2'), 'both pools served /api/');
  assert.equal((await request(`${url}/api/x`)).headers['x-backend'], 'b1', 'after 6 moves /api/ is back on web');
});

test('a reload that changes one pool leaves the other pools\' backend state untouched; the diff names the pool', async (t) => {
  const [web, api, api2] = await startBackends(t, 3);
  const { daemon, file, url, logs } = await startTestDaemon(t, twoPools(web!, api!, 'api'));
  for (let i = 0; i < 5; i++) assert.equal((await request(`${url}/`)).headers['x-backend'], 'b1');
  const webBackend = daemon.current.poolNamed('web')!.backend(web!.url)!;
  daemon.current.poolNamed('web')!.markDown(webBackend, 'test: marked down');
  const probesBefore = web!.hits;
  const from = logs.lines.length;
  saveInPlace(file, twoPools(web!, api!, 'api').replace(`    backends: [ { url: "${api!.url}" } ]`, `    backends: [ { url: "${api!.url}" }, { url: "${api2!.url}" } ]`));
  await waitForGeneration(daemon, 2, 10_000);
  const line = await waitForLog(logs.lines, 'reload applied', from, 5000);
  assert.match(line, new RegExp(`pool api: \\+1 backend \\(${api2!.url.replace(/[.]/g, '\\.')}\\)`));
  const after = daemon.current.poolNamed('web')!.backend(web!.url)!;
  assert.equal(after.state, webBackend.state, 'same state object');
  assert.equal(after.state.health, 'down', 'still down: not re-probed, not reset');
  assert.equal(after.traffic.requests, 5, 'its counters kept');
  assert.equal(web!.hits, probesBefore, 'the kept backend was not probed again by the reload');
  assert.equal((await request(`${url}/`)).status, 503, 'web has no backend up');
  const apis = new Set<string>();
  for (let i = 0; i < 4; i++) apis.add(String((await request(`${url}/api/x`)).headers['x-backend']));
  assert.deepEqual(apis, new Set(['b2', 'b3']));
});

test('workers: 2 serve the routes from every worker', async (t) => {
  const [web, api] = await startBackends(t, 2);
  const { daemon, url } = await startTestDaemon(t, `workers: 2\n${twoPools(web!, api!, 'api')}`);
  await waitFor(async () => { await daemon.refresh(); return daemon.status().workers.length === 2; }, { timeoutMs: 40_000 });
  // A fresh connection per request: the primary hands them to the workers in turn.
  for (let i = 0; i < 8; i++) {
    assert.equal((await request(`${url}/api/x`)).headers['x-backend'], 'b2');
    assert.equal((await request(`${url}/`)).headers['x-backend'], 'b1');
    assert.equal((await request(`${url}/v2/x`)).headers['x-backend'], 'b1');
  }
  await daemon.refresh();
  const served = daemon.status().workers.map((w) => w.requests);
  assert.ok(served.every((n) => n > 0), `both workers served: ${served.join(', ')}`);
});
