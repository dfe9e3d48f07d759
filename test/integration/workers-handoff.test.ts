/**
 * The primary's hand-off guard (daemon/primary.ts): a client connection
 * handed to a worker that dies before acknowledging it goes to another
 * worker instead of hanging (node:cluster's own round-robin hand-off loses
 * it: the client waits until its own timeout). The stand-in worker
 * (test/fixtures/workers/dies-on-conn.mjs) is killed the moment it is
 * handed a connection.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import type { LbConfig } from '../../src/config/schema.js';
import { WorkerSet } from '../../src/daemon/primary.js';
import { LogCapture, request } from '../helpers/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { waitFor } from '../helpers/wait.js';

test('a connection handed to a worker that dies before its ack is served by another worker', async (t) => {
  const logs = new LogCapture();
  const workers = new WorkerSet({
    count: 2,
    via: 'yalb-test',
    log: createLogger({ format: 'json', stream: logs.stream }),
    listener: undefined,
    generation: () => ({ t: 'generation', number: 1, hash: '', config: {} as LbConfig, states: [] }),
    outcome: () => {},
    markDown: () => {},
    entry: path.resolve(import.meta.dirname, '../fixtures/workers/dies-on-conn.mjs'),
  });
  await workers.start();
  t.after(() => workers.stop(1000));
  const server = net.createServer({ pauseOnConnect: true }, (s) => workers.dispatch(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  // Four connections, round robin over two workers: at least one is handed to worker 1, which dies holding it.
  const replies = await Promise.all([0, 1, 2, 3].map(() => request(url, { agent: false, timeoutMs: 5000 })));
  for (const r of replies) {
    assert.equal(r.status, 200);
    assert.notEqual(r.body, 'worker 1\n');
  }
  assert.ok(logs.has('worker 1 (pid'), `the death is logged: ${logs.lines.join('\n')}`);
  // It is replaced: two workers again (worker 3 is not a stand-in that dies).
  await waitFor(() => logs.has('worker 3'), { what: 'a replacement', timeoutMs: 10_000 });
});
