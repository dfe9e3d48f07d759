/**
 * weighted-round-robin over real HTTP: two real backends with weights 3:1
 * behind the real daemon share 400 requests 300/100 (within ±5 %), and the
 * light backend is never starved for long (smooth WRR spreads its turns).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { request, startTestDaemon } from '../helpers/daemon.js';

test('weighted-round-robin with weights 3:1 sends 300/100 of 400 requests (±5 %)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const yaml = [
    'listen: 127.0.0.1:0',
    'strategy: weighted-round-robin',
    'backends:',
    `  - url: ${b1!.url}`,
    '    weight: 3',
    `  - url: ${b2!.url}`,
    '    weight: 1',
    '',
  ].join('\n');
  const { url } = await startTestDaemon(t, yaml);

  const counts: Record<string, number> = { b1: 0, b2: 0 };
  const order: string[] = [];
  for (let i = 0; i < 400; i++) {
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    const name = r.body.trim();
    assert.ok(name === 'b1' || name === 'b2', `unexpected body ${JSON.stringify(r.body)}`);
    counts[name] = (counts[name] ?? 0) + 1;
    order.push(name);
  }
  const c1 = counts.b1 ?? 0;
  const c2 = counts.b2 ?? 0;
  assert.equal(c1 + c2, 400);
  assert.ok(Math.abs(c1 - 300) <= 15, `b1 (weight 3) got ${c1} of 400, expected 300 ±5 %`);
  assert.ok(Math.abs(c2 - 100) <= 5, `b2 (weight 1) got ${c2} of 400, expected 100 ±5 %`);
  // The backends saw exactly what the clients saw (no hidden retries to the other one).
  assert.equal(b1!.hits, c1);
  assert.equal(b2!.hits, c2);
  // Smooth: the weight-1 backend gets a turn in every window of 8 requests.
  for (let i = 0; i + 8 <= order.length; i++) {
    assert.ok(order.slice(i, i + 8).includes('b2'), `no b2 in requests ${i}..${i + 7}: ${order.slice(i, i + 8).join(' ')}`);
  }
});
