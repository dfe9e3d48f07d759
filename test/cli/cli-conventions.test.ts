/**
 * CLI conventions (issue 13, item 8), with the real CLI:
 *  - `yalb check -c -` reads the config from standard input and names it
 *    `<stdin>` in `file:line:col: message`, in every format; empty, too
 *    large and non-UTF-8 input are errors like a bad file;
 *  - NO_COLOR (https://no-color.org): on a terminal the operational log is
 *    the pretty layout with ANSI colour; NO_COLOR=1 keeps the layout and
 *    drops the colour only; an empty NO_COLOR changes nothing; off a
 *    terminal the log is JSON lines, never coloured. The terminal is a
 *    pseudo-terminal from script(1) (util-linux); without it those tests
 *    skip, saying so.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir, type Teardown } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

const VALID = 'backends:\n  - url: http://127.0.0.1:3031\n  - url: http://127.0.0.1:3032\n';

describe('yalb check -c - reads standard input', () => {
  it('a valid config: exit 0, "<stdin>: ok"', async () => {
    const r = await runCli(['check', '-c', '-'], { input: VALID });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '<stdin>: ok (2 backends, strategy round-robin)');
  });

  it('an invalid config: exit 1, each problem as <stdin>:line:col: message', async () => {
    const r = await runCli(['check', '-c', '-'], { input: `${VALID}listen: 127.0.0.1:99999\nhealthCheck:\n  interval: 5 seconds\n` });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0] as string, /^<stdin>:4:9: listen: port must be 0\.\.65535/);
    assert.match(lines[1] as string, /^<stdin>:6:13: healthCheck\.interval: /);
  });

  it('--format json and github name <stdin> too', async () => {
    const j = await runCli(['check', '--format', 'json', '-c', '-'], { input: 'backends: []\n' });
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.stdout) as { ok: boolean; file: string; issues: Array<{ file: string; line: number }> };
    assert.equal(doc.file, '<stdin>');
    assert.equal(doc.issues[0]?.file, '<stdin>');
    assert.equal(doc.issues[0]?.line, 1);
    const g = await runCli(['check', '--format', 'github', '-c', '-'], { input: 'backends: []\n' });
    assert.equal(g.code, 1);
    assert.match(g.stdout, /^::error file=<stdin>,line=1,col=\d+::/m);
  });

  it('empty, too large (> 1 MiB) and non-UTF-8 input: exit 1 at <stdin>:1:1, like a bad file', async () => {
    const empty = await runCli(['check', '-c', '-'], { input: '' });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^<stdin>:1:1: .*empty/m);
    const large = await runCli(['check', '-c', '-'], { input: `${VALID}${'# padding\n'.repeat(120_000)}` });
    assert.equal(large.code, 1);
    assert.match(large.stderr, /^<stdin>:1:1: .*too large/m);
    const latin1 = await runCli(['check', '-c', '-'], { input: Buffer.concat([Buffer.from(VALID), Buffer.from([0x23, 0x20, 0xe9, 0x0a])]) });
    assert.equal(latin1.code, 1);
    assert.match(latin1.stderr, /^<stdin>:1:1: .*UTF-8/m);
  });

  it('a file named "-" is still reachable as ./-', async (t) => {
    const dir = tempDir(t);
    writeFileSync(path.join(dir, '-'), VALID);
    const r = await runCli(['check', '-c', './-'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\.\/-: ok/);
  });
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * startOnTerminal runs `yalb start` on a pseudo-terminal (script -q -f -e -c …
 * /dev/null) with `env`, in its own process group, stopped in teardown.
 * Returns what the terminal showed so far.
 */
function startOnTerminal(t: Teardown, config: string, env: NodeJS.ProcessEnv): () => string {
  const command = `exec '${process.execPath}' '${CLI}' start -c '${config}'`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
    await gone;
  });
  return () => out;
}

/** terminalEnv is the test's environment without NO_COLOR (and FORCE_COLOR), plus `extra`. */
function terminalEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('NO_COLOR' in extra)) delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  return env;
}

describe('NO_COLOR drops colour only', { skip: hasScript ? false : 'script(1) from util-linux is not installed: no pseudo-terminal to test colours on' }, () => {
  const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (?:\x1b\[\d+m)?info(?:\x1b\[\d+m)? yalb .* listening on 127\.0\.0\.1:\d+/m;
  const config = (t: Teardown) => {
    const file = path.join(tempDir(t), 'lb.yaml');
    writeFileSync(file, 'listen: 127.0.0.1:0\nbackends:\n  - url: http://127.0.0.1:9\nhealthCheck:\n  interval: 1h\n');
    return file;
  };
  const listening = (output: () => string): Promise<string> => waitFor(() => (/listening on/.test(output()) ? output() : undefined), { timeoutMs: 30_000, what: 'the "listening" log line' });

  it('on a terminal: the pretty layout, coloured', async (t) => {
    const text = await listening(startOnTerminal(t, config(t), terminalEnv({})));
    assert.match(text, PRETTY);
    assert.match(text, /\x1b\[\d+m/, 'no ANSI colour');
  });

  it('NO_COLOR=1 on a terminal: the same layout, no escape sequence at all', async (t) => {
    const text = await listening(startOnTerminal(t, config(t), terminalEnv({ NO_COLOR: '1' })));
    assert.match(text, PRETTY);
    assert.doesNotMatch(text, /\x1b\[/);
  });

  it('an empty NO_COLOR is not set (no-color.org): coloured', async (t) => {
    const text = await listening(startOnTerminal(t, config(t), terminalEnv({ NO_COLOR: '' })));
    assert.match(text, /\x1b\[\d+m/);
  });

  it('off a terminal: JSON lines, no colour, with or without NO_COLOR', async (t) => {
    for (const env of [terminalEnv({}), terminalEnv({ NO_COLOR: '1' })]) {
      const child = spawn(process.execPath, [CLI, 'start', '-c', config(t)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
      const gone = new Promise((resolve) => child.once('exit', resolve));
      t.after(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await gone;
      });
      await listening(() => out);
      const line = out.split('\n').find((l) => l.includes('listening on')) as string;
      assert.equal((JSON.parse(line) as { level: string }).level, 'info');
      assert.doesNotMatch(out, /\x1b\[/);
      child.kill('SIGTERM');
      await gone;
    }
  });
});
