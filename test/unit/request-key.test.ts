/**
 * hashKeyOf: the key the hash strategies hash, per strategy and hashKey,
 * from plain request-shaped objects (no sockets, no server).
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { clientIp, hashKeyOf } from '../../src/proxy/request-key.js';

function req(opts: { headers?: IncomingHttpHeaders; url?: string; ip?: string } = {}) {
  return { headers: opts.headers ?? {}, url: opts.url ?? '/', socket: { remoteAddress: opts.ip ?? '203.0.113.9' } };
}

describe('hashKeyOf', () => {
  it('returns undefined for strategies that do not hash', () => {
    for (const s of ['round-robin', 'weighted-round-robin', 'least-connections', 'random-two'] as const) {
      assert.equal(hashKeyOf(req(), 'header:X-User', s), undefined);
    }
  });

  it('ip-hash: the client IP, whatever hashKey says; IPv4-mapped IPv6 folded to IPv4', () => {
    assert.equal(hashKeyOf(req(), undefined, 'ip-hash'), '203.0.113.9');
    assert.equal(hashKeyOf(req({ ip: '::ffff:10.1.2.3' }), undefined, 'ip-hash'), '10.1.2.3');
    assert.equal(hashKeyOf(req({ ip: '2001:db8::1' }), undefined, 'ip-hash'), '2001:db8::1');
    assert.equal(hashKeyOf({ headers: {}, socket: {} }, undefined, 'ip-hash'), undefined);
  });

  it('hash: ip by default and for hashKey ip', () => {
    assert.equal(hashKeyOf(req(), undefined, 'hash'), '203.0.113.9');
    assert.equal(hashKeyOf(req(), 'ip', 'hash'), '203.0.113.9');
  });

  it('hash: header:NAME, case-insensitive, repeated values joined', () => {
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': 'u42' } }), 'header:X-User-Id', 'hash'), 'u42');
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': ['a', 'b'] } as IncomingHttpHeaders }), 'header:x-user-id', 'hash'), 'a,b');
    assert.equal(hashKeyOf(req(), 'header:X-User-Id', 'hash'), undefined);
    assert.equal(hashKeyOf(req({ headers: { 'x-user-id': '' } }), 'header:X-User-Id', 'hash'), undefined);
  });

  it('hash: cookie:NAME among several cookies; absent or empty → undefined', () => {
    const headers = { cookie: 'theme=dark; sid=abc123; sid2=zzz' };
    assert.equal(hashKeyOf(req({ headers }), 'cookie:sid', 'hash'), 'abc123');
    assert.equal(hashKeyOf(req({ headers }), 'cookie:sid2', 'hash'), 'zzz');
    assert.equal(hashKeyOf(req({ headers }), 'cookie:id', 'hash'), undefined);
    assert.equal(hashKeyOf(req({ headers: { cookie: 'sid=' } }), 'cookie:sid', 'hash'), undefined);
    assert.equal(hashKeyOf(req(), 'cookie:sid', 'hash'), undefined);
  });

  it('hash: query:NAME, decoded; absent, empty or no query → undefined', () => {
    assert.equal(hashKeyOf(req({ url: '/cart?user=alice&x=1' }), 'query:user', 'hash'), 'alice');
    assert.equal(hashKeyOf(req({ url: '/cart?x=1&user=a%20b' }), 'query:user', 'hash'), 'a b');
    assert.equal(hashKeyOf(req({ url: '/cart?user=first&user=second' }), 'query:user', 'hash'), 'first');
    assert.equal(hashKeyOf(req({ url: '/cart?x=1' }), 'query:user', 'hash'), undefined);
    assert.equal(hashKeyOf(req({ url: '/cart?user=' }), 'query:user', 'hash'), undefined);
    assert.equal(hashKeyOf(req({ url: '/cart' }), 'query:user', 'hash'), undefined);
    assert.equal(hashKeyOf({ headers: {}, socket: {} }, 'query:user', 'hash'), undefined);
  });

  it('hash: an unknown key kind gives undefined rather than a wrong key', () => {
    assert.equal(hashKeyOf(req(), 'path:x', 'hash'), undefined);
    assert.equal(hashKeyOf(req(), 'bogus', 'hash'), undefined);
  });
});

describe('clientIp', () => {
  it('keeps a plain IPv6 address with :ffff: inside it', () => {
    assert.equal(clientIp(req({ ip: '::ffff:abcd' })), '::ffff:abcd');
    assert.equal(clientIp(req({ ip: '127.0.0.1' })), '127.0.0.1');
  });
});
