/**
 * Zero failed requests over 20 reloads under load (issue 3): four client
 * loops (GETs and small POSTs, over keep-alive and fresh connections) run
 * while lb.yaml alternates between two pools that share one backend. Every
 * response is checked: status 200, a body from a backend of the pools, and
 * for a POST the body it sent echoed back.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';
import { lbYaml, saveInPlace, waitForGeneration } from '../helpers/reload.js';
import { waitFor } from '../helpers/wait.js';

const RELOADS = 20;
const CLIENTS = 4;
/** Each generation serves at least this many requests before the next reload. */
const PER_GENERATION = 20;
/** The whole run is bounded: the loops stop here even if a wait misbehaves. */
const RUN_BUDGET_MS = 45_000;

test('zero failed requests over 20 reloads under load (issue 3)', async (t) => {
  const bs = await startBackends(t, 3);
  for (const b of bs) {
    b.behaviour = {
      kind: 'custom',
      handler: (req, res) => {
        const body = b.seen[b.seen.length - 1]?.body.toString() ?? '';
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(req.method === 'POST' ? `${b.name} ${body}` : `${b.name}\n`);
      },
    };
  }
  const [b1, b2, b3] = bs as [typeof bs[0], typeof bs[0], typeof bs[0]];
  const poolA = lbYaml([b1.url, b2.url]);
  const poolB = lbYaml([b2.url, b3.url]);
  const names = new Set(['b1', 'b2', 'b3']);
  const { daemon, file, url } = await startTestDaemon(t, poolA);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  t.after(() => keepAlive.destroy());

  const startedAt = Date.now();
  let stop = false;
  let total = 0;
  const failures: string[] = [];
  const client = async (id: number) => {
    // Clients 0 and 1 keep their connection to the balancer; 2 and 3 open one per request.
    const agent = id < 2 ? keepAlive : undefined;
    for (let i = 0; !stop && Date.now() - startedAt < RUN_BUDGET_MS; i++) {
      const post = i % 2 === 1;
      const payload = `c${id}-${i}-${'p'.repeat(64)}`;
      try {
        const r = await request(url, post
          ? { method: 'POST', body: payload, agent, headers: { 'content-type': 'text/plain' } }
          : { agent });
        const [name, echo] = r.body.trim().split(' ');
        if (r.status !== 200 || !names.has(name ?? '') || (post && echo !== payload)) {
          failures.push(`${post ? 'POST' : 'GET'} → ${r.status} ${JSON.stringify(r.body.slice(0, 80))}`);
        }
      } catch (err) {
        failures.push(`${post ? 'POST' : 'GET'} → ${(err as Error).message}`);
      }
      total++;
    }
  };
  const loops = Array.from({ length: CLIENTS }, (_, id) => client(id));
  try {
    for (let k = 1; k <= RELOADS; k++) {
      const before = total;
      saveInPlace(file, k % 2 === 1 ? poolB : poolA);
      await waitForGeneration(daemon, k + 1, 5000);
      await waitFor(() => total >= before + PER_GENERATION, { what: `${PER_GENERATION} requests in generation ${k + 1}` });
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  t.diagnostic(`${total} requests (${CLIENTS} clients), ${RELOADS} reloads, ${failures.length} failed, ${Date.now() - startedAt} ms`);
  assert.deepEqual(failures, []);
  assert.equal(daemon.current.number, RELOADS + 1);
  assert.equal(daemon.reloader.applied, RELOADS);
  assert.ok(total >= RELOADS * PER_GENERATION);
  assert.ok(b1.hits > 0 && b2.hits > 0 && b3.hits > 0, `all three backends served: ${bs.map((b) => b.hits).join('/')}`);
});
