/**
 * RouteMatcher (issue 15): exact and one-label wildcard hosts, path
 * prefixes, first match wins in file order across host and hostless rules,
 * the default route, no match; stripPath keeps one leading slash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf, RouteMatcher, type RouteRule, stripPath } from '../../src/routes/matcher.js';

const m = (rules: RouteRule<string>[]) => new RouteMatcher(rules);
const pick = (r: RouteMatcher<string>, host: string | undefined, url: string) => r.match(host, url)?.target;

describe('RouteMatcher', () => {
  it('exact host, case-insensitive, any port, trailing dot', () => {
    const r = m([{ host: 'api.example.com', target: 'api' }, { target: 'web' }]);
    for (const h of ['api.example.com', 'API.Example.com:8080', 'api.example.com.', 'api.example.com.:80']) assert.equal(pick(r, h, '/'), 'api', h);
    for (const h of ['example.com', 'xapi.example.com', 'api.example.co', undefined, '[::1]:3030', '127.0.0.1:3030']) assert.equal(pick(r, h, '/'), 'web', String(h));
  });

  it('a wildcard matches exactly one label: a.example.com, not example.com nor a.b.example.com', () => {
    const r = m([{ host: '*.example.com', target: 'wild' }]);
    assert.equal(pick(r, 'a.example.com', '/'), 'wild');
    assert.equal(pick(r, 'B.example.com:1', '/'), 'wild');
    assert.equal(pick(r, 'example.com', '/'), undefined);
    assert.equal(pick(r, 'a.b.example.com', '/'), undefined);
    assert.equal(pick(r, 'aexample.com', '/'), undefined);
  });

  it('path prefix, with the default route last; no match and no default → undefined', () => {
    const r = m([{ pathPrefix: '/api/', stripPrefix: true, target: 'api' }, { pathPrefix: '/static', target: 'static' }]);
    assert.deepEqual(r.match('x', '/api/users?q=1'), { target: 'api', prefix: '/api/', strip: '/api/', index: 0 });
    assert.deepEqual(r.match('x', '/static/a.css'), { target: 'static', prefix: '/static', strip: undefined, index: 1 });
    assert.equal(pick(r, 'x', '/staticfoo'), 'static', 'a prefix is a string prefix, as sent');
    assert.equal(pick(r, 'x', '/api'), undefined);
    assert.equal(pick(r, 'x', '/'), undefined);
  });

  it('first match wins in file order, across host-specific and any-host rules', () => {
    const r = m([
      { pathPrefix: '/api/', target: 'api-any-host' },
      { host: 'shop.example.com', target: 'shop' },
      { host: '*.example.com', pathPrefix: '/admin/', target: 'admin' },
      { target: 'default' },
      { host: 'late.example.com', target: 'never' },
    ]);
    assert.equal(pick(r, 'shop.example.com', '/api/x'), 'api-any-host');
    assert.equal(pick(r, 'shop.example.com', '/admin/x'), 'shop', 'the exact host comes before the wildcard in the file');
    assert.equal(pick(r, 'a.example.com', '/admin/x'), 'admin');
    assert.equal(pick(r, 'a.example.com', '/other'), 'default');
    assert.equal(pick(r, 'late.example.com', '/x'), 'default', 'a rule after the default route is never reached');
    assert.equal(pick(r, undefined, '/x'), 'default');
  });

  it('an exact host under a wildcard still sees the wildcard rules in order', () => {
    const r = m([{ host: '*.example.com', pathPrefix: '/w/', target: 'wild' }, { host: 'a.example.com', target: 'a' }]);
    assert.equal(pick(r, 'a.example.com', '/w/1'), 'wild');
    assert.equal(pick(r, 'a.example.com', '/x'), 'a');
    assert.equal(pick(r, 'b.example.com', '/x'), undefined);
  });
});

describe('stripPath and hostOf', () => {
  it('stripPath keeps one leading slash', () => {
    assert.equal(stripPath('/api/users', '/api/'), '/users');
    assert.equal(stripPath('/api/users', '/api'), '/users');
    assert.equal(stripPath('/api', '/api'), '/');
    assert.equal(stripPath('/api/', '/api/'), '/');
    assert.equal(stripPath('/api?x=1', '/api'), '/?x=1');
    assert.equal(stripPath('/api/?x=1', '/api/'), '/?x=1');
  });

  it('hostOf drops the port and a trailing dot, keeps IPv6 brackets', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('[::1]:3030'), '[::1]');
    assert.equal(hostOf('a.b.'), 'a.b');
    assert.equal(hostOf(undefined), '');
  });
});

describe('RouteMatcher on long lists (indexed by first segment)', () => {
  /** brute is the definition: the first rule, in file order, whose host and prefix match. */
  function brute(rules: RouteRule<number>[], host: string, url: string): number | undefined {
    const h = hostOf(host);
    for (const r of rules) {
      const hostOk = r.host === undefined || r.host === h
        || (r.host.startsWith('*.') && h.endsWith(r.host.slice(1)) && h.indexOf('.') === h.length - r.host.length + 1);
      if (hostOk && (r.pathPrefix === undefined || url.startsWith(r.pathPrefix))) return r.target;
    }
    return undefined;
  }

  it('agrees with a first-match scan on 600 mixed rules and 3,000 requests', () => {
    let seed = 42;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    // Mostly whole-segment prefixes (the indexed kind), a few that are not ("/ap", "/img"), rare catch-alls.
    const segs = [...Array.from({ length: 30 }, (_, i) => `/s${i}/`), '/api/', '/api/v1/', '/v1/users/', '/ap', '/img'];
    const hosts = [undefined, undefined, undefined, 'a.example.com', '*.example.com', 'b.example.com', '*.other.org'];
    const rules: RouteRule<number>[] = [];
    for (let i = 0; i < 600; i++) {
      const seg = rnd(10) === 0 ? segs[30 + rnd(5)]! : `${segs[rnd(30)]}${rnd(3) === 0 ? `p${rnd(20)}/` : ''}`;
      rules.push({ host: hosts[rnd(hosts.length)], pathPrefix: rnd(300) === 0 ? undefined : seg, target: i });
    }
    const m = new RouteMatcher(rules);
    const reqHosts = ['a.example.com', 'b.example.com:80', 'c.example.com', 'x.other.org', 'example.com', '127.0.0.1:3030'];
    for (let k = 0; k < 3000; k++) {
      const url = `${segs[rnd(segs.length)]}${rnd(2) ? `p${rnd(20)}/` : ''}${rnd(2) ? 'x?q=/a/' : ''}`;
      const host = reqHosts[rnd(reqHosts.length)]!;
      assert.equal(m.match(host, url)?.target, brute(rules, host, url), `${host} ${url}`);
    }
  });
});
