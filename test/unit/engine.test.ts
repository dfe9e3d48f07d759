/**
 * The engine seam: the smuggling guard fails loudly when http-proxy-3's
 * private pass list changes, and generations that name the same engine
 * share one instance (so kept backends keep their pooled connections).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProxyServer } from 'http-proxy-3';
import { createLogger } from '../../src/log/logger.js';
import { Engines } from '../../src/proxy/engine.js';
import { dropDeleteLength } from '../../src/proxy/engines/http-proxy-3.js';

test('dropDeleteLength removes the deleteLength pass, and throws when http-proxy-3 no longer has it (issue 9)', () => {
  const proxy = createProxyServer({});
  const names = () => (proxy as unknown as { webPasses: Array<{ name: string }> }).webPasses.map((p) => p.name);
  assert.ok(names().includes('deleteLength'), 'http-proxy-3 1.23 has the pass');
  dropDeleteLength(proxy);
  assert.ok(!names().includes('deleteLength'));
  assert.throws(() => dropDeleteLength(proxy), /deleteLength/, 'a second call finds nothing to remove: it must not pass silently');
  assert.throws(() => dropDeleteLength({}), /webPasses/);
});

test('Engines: one instance per engine name, shared by every generation that names it', () => {
  const engines = new Engines(createLogger({ level: 'error' }));
  const a = engines.get('http-proxy-3');
  assert.equal(engines.get('http-proxy-3'), a);
  assert.equal(a.name, 'http-proxy-3');
  engines.close();
});
