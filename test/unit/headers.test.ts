/**
 * headers.ts: hop-by-hop removal (the fixed list and every name the
 * Connection header lists), X-Forwarded-* from trusted and untrusted
 * clients, and the response side. Requests are plain objects shaped like
 * an IncomingMessage (headers + socket.remoteAddress).
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import { HOP_BY_HOP, isTrusted, prepareRequestHeaders, prepareResponseHeaders, removeHopByHop } from '../../src/proxy/headers.js';

function fakeReq(headers: IncomingHttpHeaders, remoteAddress = '203.0.113.7'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function trust(...cidrs: string[]): BlockList {
  const l = new BlockList();
  for (const c of cidrs) {
    const [a, bits] = c.split('/') as [string, string];
    l.addSubnet(a, Number(bits), a.includes(':') ? 'ipv6' : 'ipv4');
  }
  return l;
}

test('removeHopByHop drops the fixed list and every header named in Connection', () => {
  const h: IncomingHttpHeaders = {
    connection: 'keep-alive, X-Secret ,  x-other',
    'keep-alive': 'timeout=5', te: 'trailers', trailer: 'x-t', 'transfer-encoding': 'chunked', upgrade: 'h2c',
    'proxy-connection': 'keep-alive', 'proxy-authorization': 'Basic x', 'proxy-authenticate': 'Basic',
    'x-secret': '1', 'x-other': '2', 'x-kept': '3', host: 'example.test', 'content-length': '3',
  };
  removeHopByHop(h);
  assert.deepEqual(h, { 'x-kept': '3', host: 'example.test', 'content-length': '3' });
  for (const name of HOP_BY_HOP) assert.ok(!(name in h), name);
});

test('removeHopByHop keeps what it is asked to keep, and tolerates an absent or odd Connection', () => {
  const h: IncomingHttpHeaders = { connection: 'Upgrade, X-Secret', upgrade: 'websocket', 'x-secret': '1', 'keep-alive': '1' };
  removeHopByHop(h, ['connection', 'upgrade']);
  assert.deepEqual(h, { connection: 'Upgrade, X-Secret', upgrade: 'websocket' });
  const none: IncomingHttpHeaders = { 'x-a': '1', te: 'trailers' };
  removeHopByHop(none);
  assert.deepEqual(none, { 'x-a': '1' });
  const empty: IncomingHttpHeaders = { connection: ' , ,', 'x-a': '1' };
  removeHopByHop(empty);
  assert.deepEqual(empty, { 'x-a': '1' });
});

test('prepareRequestHeaders from an untrusted client replaces X-Forwarded-* and keeps Host', () => {
  const req = fakeReq({
    host: 'shop.example:8080', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example',
    'x-forwarded-port': '443', forwarded: 'for=1.2.3.4', connection: 'keep-alive, X-Secret', 'x-secret': '1', expect: '100-continue',
  });
  prepareRequestHeaders(req, { trusted: trust('10.0.0.0/8'), tls: false });
  assert.deepEqual(req.headers, {
    host: 'shop.example:8080',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'shop.example:8080',
  });
});

test('prepareRequestHeaders with no trustedProxies at all treats every client as untrusted', () => {
  const req = fakeReq({ host: 'a.example', 'x-forwarded-for': '1.2.3.4' });
  prepareRequestHeaders(req, { trusted: undefined, tls: true });
  assert.equal(req.headers['x-forwarded-for'], '203.0.113.7');
  assert.equal(req.headers['x-forwarded-proto'], 'https');
});

test('prepareRequestHeaders from a trusted proxy appends to X-Forwarded-For (IPv4-mapped address unmapped) and keeps its -Proto and -Host', () => {
  const req = fakeReq({
    host: 'internal:3030', 'x-forwarded-for': '1.2.3.4, 10.0.0.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example',
    'x-forwarded-port': '443', forwarded: 'for=1.2.3.4',
  }, '::ffff:10.1.2.3');
  prepareRequestHeaders(req, { trusted: trust('10.0.0.0/8'), tls: false });
  assert.equal(req.headers['x-forwarded-for'], '1.2.3.4, 10.0.0.2, 10.1.2.3');
  assert.equal(req.headers['x-forwarded-proto'], 'https');
  assert.equal(req.headers['x-forwarded-host'], 'shop.example');
  assert.equal(req.headers['x-forwarded-port'], '443');
  assert.equal(req.headers.forwarded, 'for=1.2.3.4');
  assert.equal(req.headers.host, 'internal:3030');
});

test('prepareRequestHeaders from a trusted proxy that sent no X-Forwarded-* sets them', () => {
  const req = fakeReq({ host: 'a.example' }, '10.0.0.9');
  prepareRequestHeaders(req, { trusted: trust('10.0.0.0/8'), tls: true });
  assert.equal(req.headers['x-forwarded-for'], '10.0.0.9');
  assert.equal(req.headers['x-forwarded-proto'], 'https');
  assert.equal(req.headers['x-forwarded-host'], 'a.example');
});

test('prepareRequestHeaders without Host sets no X-Forwarded-Host', () => {
  const req = fakeReq({ 'x-forwarded-host': 'evil.example' });
  prepareRequestHeaders(req, { trusted: undefined, tls: false });
  assert.ok(!('x-forwarded-host' in req.headers));
});

test('prepareRequestHeaders for an upgrade keeps Connection: upgrade and Upgrade, drops the rest', () => {
  const req = fakeReq({ host: 'a', connection: 'keep-alive, Upgrade, X-Secret', upgrade: 'websocket', 'x-secret': '1', 'keep-alive': '5', 'sec-websocket-key': 'k' });
  prepareRequestHeaders(req, { trusted: undefined, tls: false }, true);
  assert.equal(req.headers.connection, 'upgrade');
  assert.equal(req.headers.upgrade, 'websocket');
  assert.equal(req.headers['sec-websocket-key'], 'k');
  assert.ok(!('x-secret' in req.headers));
  assert.ok(!('keep-alive' in req.headers));
});

test('prepareRequestHeaders keeps a chunked body marked chunked (else the next hop would see an empty body)', () => {
  const req = fakeReq({ host: 'a', 'transfer-encoding': 'chunked', connection: 'keep-alive' });
  prepareRequestHeaders(req, { trusted: undefined, tls: false });
  assert.equal(req.headers['transfer-encoding'], 'chunked');
  const plain = fakeReq({ host: 'a', 'content-length': '3' });
  prepareRequestHeaders(plain, { trusted: undefined, tls: false });
  assert.ok(!('transfer-encoding' in plain.headers));
  assert.equal(plain.headers['content-length'], '3');
});

test('isTrusted matches IPv4, IPv4-mapped IPv6 and IPv6 subnets', () => {
  const l = trust('10.0.0.0/8', 'fd00::/8');
  assert.ok(isTrusted('10.9.9.9', l));
  assert.ok(isTrusted('::ffff:10.9.9.9', l));
  assert.ok(isTrusted('fd00::1', l));
  assert.ok(!isTrusted('11.0.0.1', l));
  assert.ok(!isTrusted('::1', l));
  assert.ok(!isTrusted(undefined, l));
  assert.ok(!isTrusted('10.0.0.1', undefined));
});

test('prepareResponseHeaders strips a backend hop-by-hop set and sets our own Connection', () => {
  const h: IncomingHttpHeaders = { connection: 'keep-alive, X-Hop', 'keep-alive': 'timeout=7, max=99', 'x-hop': '1', 'transfer-encoding': 'chunked', 'x-app': 'y' };
  prepareResponseHeaders(h, false);
  assert.deepEqual(h, { 'x-app': 'y', connection: 'close' });
  const k: IncomingHttpHeaders = { connection: 'close' };
  prepareResponseHeaders(k, true);
  assert.deepEqual(k, { connection: 'keep-alive' });
});
