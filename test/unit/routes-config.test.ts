/**
 * pools: and routes: validation (issue 15): every mistake is reported at its
 * file:line:col, and a pool's settings are its own keys over the top-level ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIssue, parseConfigText } from '../../src/config/load.js';
import { resolvePools } from '../../src/config/pools.js';

function problems(yaml: string): string[] {
  const r = parseConfigText(yaml, 'lb.yaml');
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? [] : r.issues.map(formatIssue);
}

function valid(yaml: string) {
  const r = parseConfigText(yaml, 'lb.yaml');
  assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
  return r.config;
}

const TWO_POOLS = `pools:
  web:
    backends: [ { url: "http://127.0.0.1:3031" } ]
  api:
    backends: [ { url: "http://127.0.0.1:4001" } ]
`;

describe('routes validation: each mistake at its line:col', () => {
  it('a route naming an unknown pool', () => {
    assert.deepEqual(problems(`${TWO_POOLS}routes:\n  - match: { host: api.example.com }\n    pool: apy\n  - pool: web\n`), [
      'lb.yaml:8:11: routes.0.pool: unknown pool "apy" (pools: web, api)',
      'lb.yaml:5:5: pools.api: pool "api" is used by no route',
    ].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
  });

  it('an unreachable route after a catch-all, and one an earlier prefix covers', () => {
    const p = problems(`${TWO_POOLS}routes:\n  - match: { pathPrefix: /api/ }\n    pool: api\n  - match: { pathPrefix: /api/v2/ }\n    pool: web\n  - pool: web\n  - match: { host: x.example.com }\n    pool: api\n`);
    assert.deepEqual(p, [
      'lb.yaml:9:5: routes.1: unreachable: routes[0] (pathPrefix /api/) matches every request this route matches; first match wins',
      'lb.yaml:12:5: routes.3: unreachable: routes[2] has no match: (the default route) and takes every request; put the default route last',
    ]);
  });

  it('a wildcard host covers exact hosts one label below it, not the apex', () => {
    const p = problems(`${TWO_POOLS}routes:\n  - match: { host: "*.example.com" }\n    pool: api\n  - match: { host: a.example.com }\n    pool: web\n  - match: { host: example.com }\n    pool: web\n  - match: { host: a.b.example.com }\n    pool: web\n`);
    assert.deepEqual(p, ['lb.yaml:9:5: routes.1: unreachable: routes[0] (host *.example.com) matches every request this route matches; first match wins']);
  });

  it('a pool no route uses (the default pool too)', () => {
    const p = problems(`backends:\n  - url: http://127.0.0.1:3031\n${TWO_POOLS}routes:\n  - match: { pathPrefix: /api/ }\n    pool: api\n  - pool: web\n`);
    assert.deepEqual(p, ['lb.yaml:2:3: backends: pool "default" is used by no route']);
  });

  it('several pools and no routes', () => {
    assert.deepEqual(problems(TWO_POOLS), ['lb.yaml:2:3: pools: several pools (web, api) need routes: to choose between them']);
  });

  it('empty match, stripPrefix without pathPrefix', () => {
    const p = problems(`${TWO_POOLS}routes:\n  - match: {}\n    pool: api\n  - match: { host: a.example.com, stripPrefix: true }\n    pool: web\n`);
    assert.deepEqual(p, [
      'lb.yaml:7:12: routes.0.match: needs host, pathPrefix or both (a route without match: is the default route)',
      'lb.yaml:9:48: routes.1.match.stripPrefix: stripPrefix needs pathPrefix',
    ]);
  });

  it('a host with a port, a prefix without a leading slash', () => {
    const p = problems(`${TWO_POOLS}routes:\n  - match: { host: "b.example.com:8080" }\n    pool: api\n  - match: { pathPrefix: api }\n    pool: web\n`);
    assert.deepEqual(p, [
      'lb.yaml:7:20: routes.0.match.host: expected a host name like "api.example.com" or "*.example.com" (without a port: the host matches whatever port the client used), got "b.example.com:8080"',
      'lb.yaml:9:26: routes.1.match.pathPrefix: expected a path starting with "/" (no query, no spaces), got string "api"',
    ]);
  });

  it('a pool named default beside top-level backends, an unknown key in a pool, retry.budget in a pool', () => {
    const p = problems(`backends:\n  - url: http://127.0.0.1:3031\npools:\n  default:\n    backends: [ { url: "http://127.0.0.1:4001" } ]\n    retry: { budget: 10% }\n    healtCheck: { path: /x }\n`);
    assert.ok(p.some((l) => l.startsWith('lb.yaml:6:14: pools.default.retry.budget: unknown key "budget"')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('lb.yaml:7:5: pools.default.healtCheck: unknown key "healtCheck" (did you mean "healthCheck"?)')), p.join('\n'));
  });

  it('a backend URL in two pools with different health checks (one URL, one health state)', () => {
    const p = problems(`pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:3031" } ]\n  api:\n    backends: [ { url: "http://127.0.0.1:3031" } ]\n    healthCheck: { path: /health }\nroutes:\n  - match: { pathPrefix: /api/ }\n    pool: api\n  - pool: web\n`);
    assert.deepEqual(p, ['lb.yaml:5:24: pools.api.backends.0.url: backend http://127.0.0.1:3031 is also in pool "web" with other healthCheck settings; one backend has one health state: give both pools the same healthCheck']);
  });

  it('an unquoted wildcard host (a YAML alias) is reported where it is, with the fix', () => {
    const p = problems(`pools:\n  a:\n    backends: [ { url: "http://127.0.0.1:1" } ]\nroutes:\n  - match:\n      host: *.example.com\n    pool: a\n`);
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^lb\.yaml:6:13: YAML: Unresolved alias .*a wildcard host must be quoted: "\*\.example\.com"\)$/);
  });

  it('no backends and no pools is still "missing required key backends" at 1:1', () => {
    assert.deepEqual(problems('listen: 127.0.0.1:0\n'), ['lb.yaml:1:1: missing required key "backends"']);
  });
});

describe('pools: resolved settings', () => {
  it('a pool\'s keys override the top-level ones, key by key; the rest is inherited', () => {
    const cfg = valid(`strategy: weighted-round-robin
sticky: { cookie: s }
retry: { maxAttempts: 5, sameBackend: 2 }
healthCheck: { interval: 3s, path: /status }
backends:
  - url: http://127.0.0.1:3031
pools:
  api:
    strategy: least-connections
    backends: [ { url: "http://127.0.0.1:4001" } ]
    retry: { maxAttempts: 1 }
    healthCheck: { path: /health }
routes:
  - match: { host: api.example.com }
    pool: api
  - pool: default
`);
    const [def, api] = resolvePools(cfg);
    assert.equal(def!.name, 'default');
    assert.equal(def!.strategy, 'weighted-round-robin');
    assert.equal(def!.sticky?.cookie, 's');
    assert.equal(api!.name, 'api');
    assert.equal(api!.strategy, 'least-connections');
    assert.equal(api!.retry.maxAttempts, 1);
    assert.equal(api!.retry.sameBackend, 2, 'inherited key by key');
    assert.equal(api!.healthCheck.path, '/health');
    assert.equal(api!.healthCheck.interval, 3000);
    assert.equal(api!.sticky?.cookie, 's-api', 'an inherited cookie gets the pool name');
  });

  it('one pool and no routes: every request goes to it; host is lower-cased, a trailing dot dropped', () => {
    const cfg = valid(`pools:\n  web:\n    backends: [ { url: "http://127.0.0.1:3031" } ]\n`);
    assert.deepEqual(resolvePools(cfg).map((p) => p.name), ['web']);
    const c2 = valid(`${TWO_POOLS}routes:\n  - match: { host: API.Example.COM. }\n    pool: api\n  - pool: web\n`);
    assert.equal(c2.routes?.[0]?.match?.host, 'api.example.com');
  });
});

describe('examples/two-services/lb.yaml', () => {
  it('validates, with two pools and three routes', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const r = await loadConfig(new URL('../../examples/two-services/lb.yaml', import.meta.url).pathname);
    assert.ok(r.ok, r.ok ? '' : r.issues.map(formatIssue).join('\n'));
    assert.deepEqual(resolvePools(r.config).map((p) => `${p.name} ${p.strategy} ${p.sticky?.cookie}`), ['web round-robin yalb_sticky-web', 'api least-connections yalb_sticky-api']);
    assert.equal(r.config.routes?.length, 3);
  });
});
