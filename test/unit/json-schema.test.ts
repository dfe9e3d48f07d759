/**
 * The JSON Schema that `yalb schema` prints for editors: it is valid JSON,
 * draft-07, documents what users write (duration strings with their pattern
 * and default), refuses unknown keys, and describes every top-level key.
 */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { LB_SCHEMA_ID, lbJsonSchema } from '../../src/config/json-schema.js';
import { LbConfigSchema } from '../../src/config/schema.js';
import { MAX_DURATION_MS } from '../../src/config/units.js';

type Json = Record<string, any>;

/** schema returns the schema after a JSON round trip, as an editor would read it. */
function schema(): Json {
  return JSON.parse(JSON.stringify(lbJsonSchema(), null, 2)) as Json;
}

/** durationPattern returns the pattern a duration key's strings must match (one schema typed string or integer). */
function durationPattern(prop: Json): RegExp {
  assert.deepEqual(prop.type, ['string', 'integer']);
  return new RegExp(prop.pattern as string, 'u');
}

describe('lbJsonSchema', () => {
  it('is draft-07 JSON with an $id and a title', () => {
    const s = schema();
    assert.equal(s.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(s.$id, LB_SCHEMA_ID);
    assert.equal(typeof s.title, 'string');
    assert.equal(s.type, 'object');
    assert.ok(!JSON.stringify(s).includes('"$ref"'), 'inline: no $ref for editors to chase');
  });

  it('lists backends (required, at least one, each with a required url) and every top-level key', () => {
    const s = schema();
    assert.deepEqual(Object.keys(s.properties), Object.keys(LbConfigSchema.shape));
    assert.equal(s.required, undefined);
    assert.deepEqual(s.anyOf, [{ required: ['backends'] }, { required: ['pools'] }], 'backends: or pools: is required');
    assert.equal(s.properties.backends.type, 'array');
    assert.equal(s.properties.backends.minItems, 1);
    assert.deepEqual(Object.keys(s.properties.backends.items.properties), ['url', 'weight', 'drain', 'maxConnections']);
    assert.deepEqual(s.properties.backends.items.required, ['url']);
  });

  it('refuses unknown keys at the top level and in every nested mapping', () => {
    const s = schema();
    assert.equal(s.additionalProperties, false);
    assert.equal(s.properties.backends.items.additionalProperties, false);
    for (const key of ['retry', 'timeouts', 'healthCheck', 'passive', 'accessLog', 'admin', 'log', 'sticky']) {
      assert.equal(s.properties[key].additionalProperties, false, key);
    }
  });

  it('documents durations as the user writes them: pattern plus default', () => {
    const s = schema();
    const interval = s.properties.healthCheck.properties.interval;
    assert.equal(interval.default, '20s');
    assert.ok(durationPattern(interval).test('20s'));
    assert.ok(!durationPattern(interval).test('5 seconds'));
    assert.match(interval.errorMessage, /duration/);
    assert.equal(s.properties.retry.properties.delay.default, '10ms');
    for (const [key, want] of [['connect', '5s'], ['response', '60s'], ['idle', '60s']] as const) {
      const p = s.properties.timeouts.properties[key];
      assert.equal(p.default, want, key);
      for (const ok of ['0s', '10ms', '1.5s', '2m', '596h']) assert.ok(durationPattern(p).test(ok), `${key} ${ok}`);
      for (const bad of ['5 sec', '597h', '-1s', '1m30s', '10S']) assert.ok(!durationPattern(p).test(bad), `${key} ${bad}`);
      assert.equal(p.maximum, MAX_DURATION_MS);
    }
    assert.equal(s.properties.strategy.default, 'round-robin');
    assert.ok(s.properties.strategy.enum.includes('least-connections'));
  });

  it('gives every top-level key a description (shown on hover)', () => {
    const s = schema();
    for (const [key, prop] of Object.entries<Json>(s.properties)) {
      assert.ok(typeof prop.description === 'string' && prop.description.length > 10, `${key} has no description`);
    }
  });
});

test('every property of the schema, nested ones too, has a description naming its default or saying it is required', () => {
  interface Node { properties?: Record<string, Node>; items?: Node; anyOf?: Node[]; description?: string }
  const missing: string[] = [];
  const walk = (n: Node, prefix: string) => {
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      const d = v.description ?? v.anyOf?.find((a) => a.description)?.description;
      if (!d || !/default|required/i.test(d)) missing.push(`${prefix}${k}`);
      walk(v, `${prefix}${k}.`);
      if (v.items) walk(v.items, `${prefix}${k}[].`);
      for (const a of v.anyOf ?? []) walk(a, `${prefix}${k}.`);
    }
  };
  walk(lbJsonSchema() as Node, '');
  assert.deepEqual(missing, []);
});
