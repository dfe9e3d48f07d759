/**
 * Logs a pipeline can ingest (issue 13, item 6), from a real daemon with
 * real backends: operational lines are one JSON object per event with
 * `time`, `level`, `log: "yalb"`, `msg` and the facts as fields; access
 * lines say `log: "access"` with the same `time`; X-Request-Id is kept when
 * valid, made when absent or invalid, sent to the backend and logged; the
 * combined format counts the bytes actually sent (a chunked answer too);
 * under journald (JOURNAL_STREAM names stdout) each line carries its
 * syslog priority.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startBackends } from '../helpers/backend.js';
import { CLI, exited } from '../helpers/cli.js';
import { request, startTestDaemon, tempDir, yamlConfig } from '../helpers/daemon.js';
import { rawExchange, statusLine } from '../helpers/raw.js';
import { waitFor } from '../helpers/wait.js';

type Line = Record<string, unknown>;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MADE_ID = /^[0-9a-f]{12}-[0-9a-z]+$/;

/** parseAll parses every captured line; each must be one JSON object with the fixed fields. */
function parseAll(lines: readonly string[], kind: 'yalb' | 'access'): Line[] {
  return lines.map((l) => {
    const o = JSON.parse(l) as Line;
    assert.match(String(o.time), ISO, `time in ${l}`);
    assert.equal(o.log, kind, `log field in ${l}`);
    if (kind === 'yalb') {
      assert.ok(['error', 'warn', 'info', 'debug'].includes(String(o.level)), `level in ${l}`);
      assert.equal(typeof o.msg, 'string', `msg in ${l}`);
      assert.ok(!String(o.msg).includes('\n'), `one line per event: ${l}`);
      assert.equal('message' in o || 'timestamp' in o, false, `no second name for msg or time: ${l}`);
    }
    return o;
  });
}

test('operational log: JSON lines with fixed fields and the facts as fields (state change, reload, failed reload)', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const extra = 'healthCheck:\n  interval: 200ms\n  timeout: 150ms\n  path: /\n  fall: 1\n';
  // No watcher: the reloads below are this test's own (a watcher could apply the file first, with its own trigger).
  const { daemon, file, logs } = await startTestDaemon(t, yamlConfig([b1!.url, b2!.url], extra), { watch: false });
  await b2!.stop();
  const down = await waitFor(() => parseAll(logs.lines, 'yalb').find((o) => o.backend === b2!.url && o.state === 'down'), { what: 'b2 down, as fields' });
  assert.equal(down.level, 'warn');
  assert.equal(down.event, 'health');
  assert.match(String(down.reason), /ECONNREFUSED/);
  assert.match(String(down.msg), new RegExp(`backend ${b2!.url} down`), 'the text still reads as before');

  writeFileSync(file, `engine: ${daemon.current.engine.name}\n${yamlConfig([b1!.url], extra)}`);
  assert.equal((await daemon.reload('test')).ok, true);
  const applied = parseAll(logs.lines, 'yalb').find((o) => String(o.msg).startsWith('reload applied'));
  assert.ok(applied, 'a reload line');
  assert.equal(applied.generation, 2);
  assert.equal(applied.file, file);
  assert.equal(applied.trigger, 'test');
  assert.ok(Array.isArray(applied.changes));

  writeFileSync(file, `${yamlConfig([b1!.url], extra)}strategy: nope\n`);
  assert.equal((await daemon.reload('test')).ok, false);
  const failed = parseAll(logs.lines, 'yalb').find((o) => String(o.msg).startsWith('reload failed'));
  assert.ok(failed, 'a failed-reload line');
  assert.equal(failed.level, 'error');
  assert.equal(failed.file, file);
  assert.equal(typeof failed.line, 'number');
  assert.equal(typeof failed.col, 'number');
  assert.ok(Array.isArray(failed.errors) && failed.errors.length >= 1, 'the problems as a list');
  const start = parseAll(logs.lines, 'yalb').find((o) => String(o.msg).includes('listening on'));
  assert.ok(start && start.generation === 1 && typeof start.listen === 'string', 'the start line has its facts');
});

test('X-Request-Id: kept when valid, made when absent or invalid, sent to the backend and in the JSON access log', async (t) => {
  const [b1] = await startBackends(t, 1);
  const dir = tempDir(t);
  const logPath = path.join(dir, 'access.log');
  const { url } = await startTestDaemon(t, yamlConfig([b1!.url], `accessLog:\n  path: ${logPath}\n  format: json\n`), { dir });
  await request(`${url}/given`, { headers: { 'x-request-id': 'client-id-42' } });
  await request(`${url}/absent`);
  await request(`${url}/absent-too`);
  await request(`${url}/invalid`, { headers: { 'x-request-id': 'has a space' } });
  const seen = new Map(b1!.seen.map((r) => [r.url, r.headers['x-request-id'] as string]));
  assert.equal(seen.get('/given'), 'client-id-42', 'passed through');
  assert.match(seen.get('/absent')!, MADE_ID);
  assert.match(seen.get('/invalid')!, MADE_ID, 'an invalid one is replaced');
  assert.notEqual(seen.get('/absent'), seen.get('/absent-too'), 'made ids differ');
  const lines = await waitFor(() => {
    const l = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
    return l.length >= 4 ? l : undefined;
  }, { what: '4 access lines' });
  const recs = parseAll(lines, 'access');
  for (const r of recs) assert.equal(r.requestId, seen.get(String(r.path)), `the access line of ${String(r.path)} has the id the backend saw`);
});

test('combined format: the bytes actually sent, for a chunked answer too, and the request id', async (t) => {
  const [b1] = await startBackends(t, 1);
  b1!.behaviour = {
    kind: 'custom',
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // no Content-Length: chunked
      res.write(Buffer.alloc(2000, 97));
      setImmediate(() => res.end(Buffer.alloc(3000, 98)));
    },
  };
  const dir = tempDir(t);
  const logPath = path.join(dir, 'access.log');
  const { url } = await startTestDaemon(t, yamlConfig([b1!.url], `accessLog:\n  path: ${logPath}\n  format: combined\n`), { dir });
  // Raw bytes: a Node client would percent-encode the quote in the target.
  const r = await rawExchange(Number(new URL(url).port), ['GET /chunked?a="b" HTTP/1.1\r\nHost: x\r\nX-Request-Id: rid-1\r\nUser-Agent: ua "quoted"\r\nConnection: close\r\n\r\n']);
  assert.equal(statusLine(r.data), 'HTTP/1.1 200 OK');
  assert.match(r.data.toString('latin1'), /transfer-encoding: chunked/i);
  const line = await waitFor(() => readFileSync(logPath, 'utf8').split('\n').find(Boolean), { what: 'a combined line' });
  // host ident user [time] "request" status bytes "referer" "user-agent", then yalb's key=value fields.
  const m = /^(\S+) - - \[[^\]]+\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)" (.*)$/.exec(line);
  assert.ok(m, `parseable as combined: ${line}`);
  assert.equal(m[2], 'GET /chunked?a=\\"b\\" HTTP/1.1', 'the quote in the target is escaped');
  assert.equal(m[3], '200');
  assert.equal(m[4], '5000', 'the real size of a chunked answer, not "-"');
  assert.equal(m[6], 'ua \\"quoted\\"');
  assert.match(m[7]!, /request_id=rid-1$/);
});

test('journald: JOURNAL_STREAM naming stdout prefixes each line with its priority; another stream gets none', async (t) => {
  const [b1, b2] = await startBackends(t, 2);
  const dir = tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, yamlConfig([b1!.url, b2!.url], 'healthCheck:\n  interval: 200ms\n  timeout: 150ms\n  fall: 1\n'));
  const run = async (journalStream: string) => {
    // The shell sets JOURNAL_STREAM to the device:inode of its own stdout (the pipe read here), as systemd does.
    const child = spawn('sh', ['-c', `export JOURNAL_STREAM=${journalStream}; exec "$0" "$@"`, process.execPath, CLI, 'start', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
    await waitFor(() => out.includes('listening on'), { what: `the start line (output: ${out})`, timeoutMs: 20_000 });
    return { child, out: () => out };
  };
  const j = await run('$(stat -L -c %d:%i /proc/$$/fd/1)');
  await b2!.stop();
  await waitFor(() => j.out().includes(`backend ${b2!.url} down`), { what: 'a warning' });
  j.child.kill('SIGTERM');
  assert.equal((await exited(j.child)).code, 0);
  const lines = j.out().split('\n').filter(Boolean);
  for (const l of lines) assert.match(l, /^<[3467]>\{/, `a priority, then the JSON object: ${l}`);
  assert.ok(lines.some((l) => l.startsWith('<6>') && l.includes('listening on')), 'info is <6>');
  assert.ok(lines.some((l) => l.startsWith('<4>') && l.includes(`backend ${b2!.url} down`)), 'warn is <4>');
  JSON.parse(lines[0]!.slice(3));

  await b2!.start();
  const plain = await run('1:1');
  plain.child.kill('SIGTERM');
  assert.equal((await exited(plain.child)).code, 0);
  for (const l of plain.out().split('\n').filter(Boolean)) assert.match(l, /^\{/, `no prefix when stdout is not the journal: ${l}`);
});
