/**
 * Issue 14: certificate name matching for SNI (RFC 6125 §6.4.3: a wildcard
 * is the whole left-most label and covers exactly one label) and the
 * redirect's Location (same host, HTTPS port, path kept; a bad Host gets
 * nothing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameMatches, pickByName } from '../../src/tls/names.js';
import { redirectLocation } from '../../src/tls/redirect.js';

test('nameMatches: exact names case-insensitively, wildcards for one label only', () => {
  const cases: Array<[string, string, boolean]> = [
    ['example.com', 'example.com', true],
    ['example.com', 'EXAMPLE.com.', true],
    ['example.com', 'www.example.com', false],
    ['*.example.com', 'www.example.com', true],
    ['*.example.com', 'WWW.Example.Com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'wwwexample.com', false],
    ['w*.example.com', 'www.example.com', false],
  ];
  for (const [name, host, want] of cases) assert.equal(nameMatches(name, host), want, `${name} vs ${host}`);
});

test('pickByName prefers an exact name over a wildcard, whatever the order; -1 when nothing matches', () => {
  const entries = [{ names: ['*.example.com'] }, { names: ['api.example.com', 'api2.example.com'] }, { names: ['other.test'] }];
  assert.equal(pickByName(entries, 'api.example.com'), 1);
  assert.equal(pickByName(entries, 'api2.example.com'), 1);
  assert.equal(pickByName(entries, 'www.example.com'), 0);
  assert.equal(pickByName(entries, 'other.test'), 2);
  assert.equal(pickByName(entries, 'nope.test'), -1);
});

test('redirectLocation keeps host and path, swaps the port, refuses a bad Host', () => {
  assert.equal(redirectLocation('site.test', '/a?b=1', 443), 'https://site.test/a?b=1');
  assert.equal(redirectLocation('site.test:80', '/a', 8443), 'https://site.test:8443/a');
  assert.equal(redirectLocation('[::1]:80', '/', 443), 'https://[::1]/');
  assert.equal(redirectLocation('10.0.0.1', '/x', 443), 'https://10.0.0.1/x');
  assert.equal(redirectLocation(undefined, '/', 443), undefined);
  assert.equal(redirectLocation('evil.test/@x', '/', 443), undefined);
  assert.equal(redirectLocation('a b', '/', 443), undefined);
  assert.equal(redirectLocation('site.test', '*', 443), 'https://site.test/', 'an asterisk-form target becomes /');
});
