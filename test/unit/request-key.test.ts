/**
 * hashKeyOf: the key the hash strategies hash, per strategy and hashKey,
 * from plain request-shaped objects (no sockets, no server).
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { parseHashKey, type HashKey } from '../../src/config/units.js';
import { createStrategy } from '../../src/pool/strategies/index.js';
import { clientIp, hashKeyOf } from '../../src/proxy/request-key.js';

/** key parses a hashKey as lb.yaml would. */
function key(spec: string): HashKey {
  const k = parseHashKey(spec);
  assert.ok(k, `valid hashKey ${spec}`);
  return k;
}

function req(opts: { headers?: IncomingHttpHeaders; url?: string; ip?: string } = {}) {
  return { headers: opts.headers ?? {}, url: opts.url ?? '/', socket: { remoteAddress: opts.ip ?? '203.0.113.9' } };
}

describe('hashKeyOf', () => {
  it('only ip-hash and hash declare that they hash (the proxy computes no key for the others)', () => {
    for (const s of ['round-robin', 'weighted-round-robin', 'least-connections', 'random-two'] as const) {
      assert.equal(createStrategy(s).hashes, false, s);
    }
    assert.equal(createStrategy('ip-hash').hashes, true);
    assert.equal(createStrategy('hash').hashes, true);
  });

  it('ip-hash: the client IP, whatever hashKey says; IPv4-mapped IPv6 folded to IPv4', () => {
    assert.equal(hashKeyOf(req(), key('ip')), '203.0.113.9');
    assert.equal(hashKeyOf(req({ ip: '::ffff:10.1.2.3' }), key('ip')), '10.1.2.3');
    assert.equal(hashKeyOf(req({ ip: '2001:db8::1' }), key('ip')), '2001:db8::1');
    assert.equal(hashKeyOf({ headers: {}, socket: {} }, key('ip')), undefined);
  });

  it('hash: ip by default (no hashKey in lb.yaml)', async () => {
    const { parseConfigText } = await import('../../src/config/load.js');
    const r = parseConfigText('strategy: hash\nbackends:\n  - url: http://127.0.0.1:3031\n', 'lb.yaml');
    assert.ok(r.ok);
    assert.equal(r.config.hashKey, undefined);
    assert.deepEqual(key('ip'), { kind: 'ip' });
  });

  it('hash: header:NAME, case-insensitive, repeated values joined', () => {
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': 'u42' } }), key('header:X-User-Id')), 'u42');
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': ['a', 'b'] } as IncomingHttpHeaders }), key('header:x-user-id')), 'a,b');
    assert.equal(hashKeyOf(req(), key('header:X-User-Id')), undefined);
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': '' } }), key('header:X-User-Id')), undefined);
  });

  it('hash: cookie:NAME among several cookies; absent or empty → undefined', () => {
    const headers = { cookie: 'theme=dark; sid=abc123; sid2=zzz' };
    assert.equal(hashKeyOf(req({ headers }), key('cookie:sid')), 'abc123');
    assert.equal(hashKeyOf(req({ headers }), key('cookie:sid2')), 'zzz');
    assert.equal(hashKeyOf(req({ headers }), key('cookie:id')), undefined);
    assert.equal(hashKeyOf(req({ headers: { cookie: 'sid=' } }), key('cookie:sid')), undefined);
    assert.equal(hashKeyOf(req(), key('cookie:sid')), undefined);
  });

  it('hash: query:NAME, decoded; absent, empty or no query → undefined', () => {
    assert.equal(hashKeyOf(req({ url: '/cart?user=alice&x=1' }), key('query:user')), 'alice');
    assert.equal(hashKeyOf(req({ url: '/cart?x=1&user=a%20b' }), key('query:user')), 'a b');
    assert.equal(hashKeyOf(req({ url: '/cart?user=first&user=second' }), key('query:user')), 'first');
    assert.equal(hashKeyOf(req({ url: '/cart?x=1' }), key('query:user')), undefined);
    assert.equal(hashKeyOf(req({ url: '/cart?user=' }), key('query:user')), undefined);
    assert.equal(hashKeyOf(req({ url: '/cart' }), key('query:user')), undefined);
    assert.equal(hashKeyOf({ headers: {}, socket: {} }, key('query:user')), undefined);
  });

  it('hashKey is parsed once: header names lower-cased, unknown kinds refused', () => {
    assert.deepEqual(parseHashKey('header:X-User-Id'), { kind: 'header', name: 'x-user-id' });
    assert.deepEqual(parseHashKey('cookie:Sid'), { kind: 'cookie', name: 'Sid' });
    assert.equal(parseHashKey('path:x'), undefined);
    assert.equal(parseHashKey('bogus'), undefined);
  });
});

describe('clientIp', () => {
  it('keeps a plain IPv6 address with :ffff: inside it', () => {
    assert.equal(clientIp(req({ ip: '::ffff:abcd' })), '::ffff:abcd');
    assert.equal(clientIp(req({ ip: '127.0.0.1' })), '127.0.0.1');
  });
});
