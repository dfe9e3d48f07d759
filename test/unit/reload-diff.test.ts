/**
 * configDiff: the changes one applied reload logs (issue 3), and
 * positionOf: where a key sits in the text, for errors found while applying.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText, positionOf } from '../../src/config/load.js';
import type { LbConfig } from '../../src/config/schema.js';
import { configDiff } from '../../src/reload/diff.js';

function cfg(text: string): LbConfig {
  const r = parseConfigText(text, 'lb.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

const base = 'listen: 127.0.0.1:3030\nbackends:\n  - url: http://127.0.0.1:3031\n  - url: http://127.0.0.1:3032\n';

test('configDiff: nothing for comments and formatting only', () => {
  assert.deepEqual(configDiff(cfg(base), cfg(`# a comment\n${base.replace('backends:', 'backends:   ')}`)), []);
});

test('configDiff: backends added and removed, weight, drain, strategy, listen, sections', () => {
  const a = cfg(base);
  const b = cfg([
    'listen: 127.0.0.1:4040',
    'strategy: least-connections',
    'backends:',
    '  - url: http://127.0.0.1:3032',
    '    weight: 3',
    '    drain: true',
    '  - url: http://127.0.0.1:3034',
    '  - url: http://127.0.0.1:3035',
    'retry:',
    '  maxAttempts: 2',
    '',
  ].join('\n'));
  assert.deepEqual(configDiff(a, b), [
    '+2 backends (http://127.0.0.1:3034, http://127.0.0.1:3035)',
    '-1 backend (http://127.0.0.1:3031)',
    'weight http://127.0.0.1:3032 1 → 3',
    'http://127.0.0.1:3032 draining',
    'strategy round-robin → least-connections',
    'listen 127.0.0.1:3030 → 127.0.0.1:4040',
    'retry.maxAttempts 3 → 2',
  ]);
});

test('configDiff: timeouts, health settings and other keys leaf by leaf, in their units; the admin token never printed', () => {
  const a = cfg(`${base}admin:\n  listen: 127.0.0.1:9090\n  token: aaaaaaaaaaaaaaaaaaaa\n`);
  const b = cfg([
    base.trimEnd(),
    'timeouts:',
    '  connect: 2s',
    'healthCheck:',
    '  interval: 5s',
    '  path: /health',
    '  expectStatus: 200,204',
    'retry:',
    '  budget: 10%',
    'sticky:',
    '  cookie: lb',
    'admin:',
    '  listen: 127.0.0.1:9090',
    '  token: bbbbbbbbbbbbbbbbbbbb',
    '',
  ].join('\n'));
  const d = configDiff(a, b);
  for (const line of ['timeouts.connect 5s → 2s', 'healthCheck.interval 20s → 5s', 'healthCheck.path set to /health',
    'healthCheck.expectStatus 200-399 → 200,204', 'retry.budget 20% → 10%', 'sticky set', 'admin.token changed']) {
    assert.ok(d.includes(line), `${line} in ${JSON.stringify(d)}`);
  }
  assert.ok(!JSON.stringify(d).includes('bbbb'), 'the token is not printed');
});

test('positionOf: 1-based line and column of a key\'s value; undefined when absent', () => {
  const text = 'backends:\n  - url: http://127.0.0.1:1\nadmin:\n  listen: 127.0.0.1:9\nlisten: 127.0.0.1:0\n';
  assert.deepEqual(positionOf(text, ['listen']), { line: 5, col: 9 });
  assert.deepEqual(positionOf(text, ['admin', 'listen']), { line: 4, col: 11 });
  assert.equal(positionOf(text, ['tls']), undefined);
});

test('configDiff names the pool (routes, issue 15): a change to one pool, pools added and removed, routes', () => {
  const pools = (api: string, extra = '') => cfg(`backends:\n  - url: http://127.0.0.1:3031\npools:\n  api:\n    backends:\n${api}${extra}routes:\n  - match: { pathPrefix: /api/ }\n    pool: api\n  - pool: default\n`);
  const a = pools('      - url: http://127.0.0.1:4001\n');
  const b = pools('      - url: http://127.0.0.1:4001\n        weight: 2\n      - url: http://127.0.0.1:4002\n    strategy: random-two\n');
  assert.deepEqual(configDiff(a, b), [
    'pool api: +1 backend (http://127.0.0.1:4002)',
    'pool api: weight http://127.0.0.1:4001 1 → 2',
    'pool api: strategy round-robin → random-two',
  ]);
  const c = cfg('backends:\n  - url: http://127.0.0.1:3031\npools:\n  web:\n    backends: [ { url: "http://127.0.0.1:5001" } ]\nroutes:\n  - match: { pathPrefix: /web/ }\n    pool: web\n  - pool: default\n');
  assert.deepEqual(configDiff(a, c), ['pool web added (1 backend)', 'pool api removed', 'routes changed']);
});
