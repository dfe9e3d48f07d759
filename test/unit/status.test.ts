/**
 * status.ts: the one mapping from a failure kind to an HTTP status, an error
 * code and a body, and sendFailure's behaviour on a fresh, a started and a
 * dead response (checked on a stub ServerResponse: no sockets).
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { ErrorCodes } from '../../src/errors.js';
import { type FailureKind, sendFailure, STATUS_OF } from '../../src/proxy/status.js';

test('every failure kind maps to its status and a documented YALB_ERR_* code', () => {
  const want: Record<FailureKind, [number, string]> = {
    'no-backend': [503, 'YALB_ERR_NO_BACKEND'],
    'no-route': [404, 'YALB_ERR_NO_ROUTE'],
    'bad-request': [400, 'YALB_ERR_BAD_REQUEST'],
    'bad-host': [400, 'YALB_ERR_BAD_REQUEST'],
    'loop': [508, 'YALB_ERR_LOOP'],
    'client-timeout': [408, 'YALB_ERR_CLIENT_TIMEOUT'],
    'queue-full': [503, 'YALB_ERR_QUEUE_FULL'],
    'queue-timeout': [503, 'YALB_ERR_QUEUE_TIMEOUT'],
    'connect': [502, 'YALB_ERR_UPSTREAM_CONNECT'],
    'reset': [502, 'YALB_ERR_UPSTREAM_RESET'],
    'attempts-exhausted': [502, 'YALB_ERR_ATTEMPTS_EXHAUSTED'],
    'budget': [502, 'YALB_ERR_RETRY_BUDGET'],
    'timeout': [504, 'YALB_ERR_UPSTREAM_TIMEOUT'],
    'idle': [504, 'YALB_ERR_UPSTREAM_IDLE'],
    'client-abort': [499, 'YALB_ERR_CLIENT_ABORT'],
  };
  assert.deepEqual(Object.keys(STATUS_OF).sort(), Object.keys(want).sort());
  for (const [kind, [status, code]] of Object.entries(want) as Array<[FailureKind, [number, string]]>) {
    assert.equal(STATUS_OF[kind].status, status, kind);
    assert.equal(STATUS_OF[kind].code, code, kind);
    assert.ok(code in ErrorCodes, `${code} is in ErrorCodes`);
    assert.ok(STATUS_OF[kind].text.length > 0, kind);
  }
});

/** StubRes records what sendFailure does to a response. */
class StubRes {
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  status = 0;
  headers: Record<string, string | number> = {};
  body = '';
  destroyCalls = 0;

  writeHead(status: number, headers: Record<string, string | number>): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  end(body: string): this {
    this.body = body;
    this.writableEnded = true;
    return this;
  }

  destroy(): this {
    this.destroyCalls++;
    this.destroyed = true;
    return this;
  }
}

const asRes = (s: StubRes) => s as unknown as ServerResponse;

test('sendFailure answers a fresh response with status, text body, X-Yalb-Error and a length', () => {
  for (const kind of ['no-backend', 'connect', 'reset', 'attempts-exhausted', 'budget', 'timeout', 'idle'] as const) {
    const s = new StubRes();
    const status = sendFailure(asRes(s), kind);
    assert.equal(status, STATUS_OF[kind].status);
    assert.equal(s.status, status);
    assert.equal(s.headers['x-yalb-error'], STATUS_OF[kind].code);
    assert.equal(s.headers['content-length'], Buffer.byteLength(s.body));
    assert.match(String(s.headers['content-type']), /^text\/plain/);
    assert.ok(s.body.startsWith(`${status} `), s.body);
    assert.equal(s.headers['retry-after'], kind === 'no-backend' ? '1' : undefined, kind);
    assert.equal(s.destroyCalls, 0);
  }
});

test('sendFailure never sends 499: a client abort destroys the response', () => {
  const s = new StubRes();
  assert.equal(sendFailure(asRes(s), 'client-abort'), 499);
  assert.equal(s.status, 0);
  assert.equal(s.destroyCalls, 1);
});

test('sendFailure on a response that has started destroys it instead of writing a second head', () => {
  const s = new StubRes();
  s.headersSent = true;
  assert.equal(sendFailure(asRes(s), 'attempts-exhausted'), 502);
  assert.equal(s.status, 0);
  assert.equal(s.destroyCalls, 1);
});

test('sendFailure on a dead or ended response writes nothing', () => {
  const dead = new StubRes();
  dead.destroyed = true;
  assert.equal(sendFailure(asRes(dead), 'timeout'), 504);
  assert.equal(dead.status, 0);
  const ended = new StubRes();
  ended.headersSent = true;
  ended.writableEnded = true;
  sendFailure(asRes(ended), 'timeout');
  assert.equal(ended.destroyCalls, 0);
});
