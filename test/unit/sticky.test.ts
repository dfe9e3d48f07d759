/**
 * Sticky cookies: the id is opaque and stable, the parser accepts only a
 * well-formed id under the right name, and findSticky honours eligibility.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backend, BackendState, BackendTraffic } from '../../src/pool/backend.js';
import { findSticky, parseStickyCookie, stickyCookie, stickyId, stickyIndex } from '../../src/pool/sticky.js';

function backend(url: string, drain = false): Backend {
  return new Backend({ url, weight: 1, drain }, new BackendState(url, 0), new BackendTraffic(), { now: () => 0, slowStartMs: 0 });
}

const A = 'http://127.0.0.1:3031';
const B = 'http://127.0.0.1:3032';
const C = 'https://10.0.0.7:8443';

describe('stickyId', () => {
  it('is 16 lowercase hex chars, stable, distinct per URL, and not the URL', () => {
    const id = stickyId(A);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(stickyId(A), id);
    assert.notEqual(stickyId(B), id);
    assert.notEqual(stickyId(C), id);
    assert.notEqual(id, A);
    assert.ok(!id.includes('127.0.0.1') && !id.includes('3031'), id);
    assert.equal(new Set(Array.from({ length: 1000 }, (_, i) => stickyId(`http://10.0.${i >> 8}.${i & 255}:80`))).size, 1000);
  });
});

describe('parseStickyCookie', () => {
  const id = stickyId(A);

  it('finds the cookie among several', () => {
    assert.equal(parseStickyCookie(`yalb_sticky=${id}`, 'yalb_sticky'), id);
    assert.equal(parseStickyCookie(`theme=dark; yalb_sticky=${id}; session=abc123`, 'yalb_sticky'), id);
    assert.equal(parseStickyCookie(`theme=dark;yalb_sticky=${id}`, 'yalb_sticky'), id);
    assert.equal(parseStickyCookie(`  yalb_sticky = ${id} ;`, 'yalb_sticky'), id);
  });

  it('does not confuse names that share a prefix or suffix', () => {
    assert.equal(parseStickyCookie(`x_yalb_sticky=${id}`, 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie(`yalb_sticky2=${id}`, 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie(`other=yalb_sticky=${id}`, 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie(`yalb_sticky2=${stickyId(B)}; yalb_sticky=${id}`, 'yalb_sticky'), id);
  });

  it('rejects malformed and forged-looking values', () => {
    const bad = [
      '', id.slice(0, 15), `${id}0`, id.toUpperCase(), `${id.slice(0, 15)}g`, `"${id}"`, A,
      encodeURIComponent(A), `${id.slice(0, 8)} ${id.slice(9)}`, '../../etc/passwd', `${id}%00`,
    ];
    for (const v of bad) assert.equal(parseStickyCookie(`yalb_sticky=${v}`, 'yalb_sticky'), undefined, JSON.stringify(v));
  });

  it('returns undefined for a missing header, a missing cookie or garbage', () => {
    assert.equal(parseStickyCookie(undefined, 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie('', 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie('theme=dark', 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie(';;;==;', 'yalb_sticky'), undefined);
    assert.equal(parseStickyCookie('yalb_sticky', 'yalb_sticky'), undefined);
  });

  it('takes the first valid value when the name is repeated', () => {
    const other = stickyId(B);
    assert.equal(parseStickyCookie(`yalb_sticky=bogus; yalb_sticky=${other}; yalb_sticky=${id}`, 'yalb_sticky'), other);
  });
});

describe('findSticky', () => {
  const backends = [backend(A), backend(B), backend(C, true)];
  const [a, b, c] = backends as [Backend, Backend, Backend];

  it('finds the eligible backend with that id, over an array or an index', () => {
    const idx = stickyIndex(backends);
    for (const pool of [backends, idx]) {
      assert.equal(findSticky(pool, stickyId(A), { tried: new Set() }), a);
      assert.equal(findSticky(pool, stickyId(B), { tried: new Set() }), b);
      assert.equal(findSticky(pool, 'ffffffffffffffff', { tried: new Set() }), undefined);
    }
  });

  it('ignores a backend that is down, draining or already tried', () => {
    assert.equal(findSticky(backends, stickyId(C), { tried: new Set() }), undefined, 'draining');
    assert.equal(findSticky(backends, stickyId(A), { tried: new Set([a]) }), undefined, 'tried');
    b.state.health = 'down';
    assert.equal(findSticky(backends, stickyId(B), { tried: new Set() }), undefined, 'down');
    assert.equal(findSticky(backends, stickyId(B), { tried: new Set(), panic: true }), b, 'panic mode');
    b.state.health = 'up';
    assert.equal(c.draining, true);
  });
});

describe('stickyCookie', () => {
  it('builds a site-wide HttpOnly SameSite=Lax cookie, Secure on HTTPS', () => {
    const id = stickyId(A);
    assert.equal(stickyCookie('yalb_sticky', id, false), `yalb_sticky=${id}; Path=/; HttpOnly; SameSite=Lax`);
    assert.equal(stickyCookie('yalb_sticky', id, true), `yalb_sticky=${id}; Path=/; HttpOnly; SameSite=Lax; Secure`);
    assert.equal(parseStickyCookie(stickyCookie('s', id, true).split(';')[0], 's'), id);
  });
});
