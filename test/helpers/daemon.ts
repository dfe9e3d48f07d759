/**
 * Test helpers around a real daemon: write an lb.yaml into a temp folder,
 * start createDaemon() on it (port 0, silent logs unless asked), send real
 * HTTP to it, and stop everything in teardown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';

/** Teardown is the part of a TestContext the helpers need. */
export interface Teardown {
  after: (fn: () => void | Promise<void>) => void;
}

/** tempDir makes a temp folder removed in teardown. */
export function tempDir(t: Teardown, prefix = 'yalb-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** LogCapture collects log lines of a daemon for assertions. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      this.lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });

  /** has tells whether some line contains `text`. */
  has(text: string): boolean {
    return this.lines.some((l) => l.includes(text));
  }
}

/** yamlConfig renders a small lb.yaml: backends plus any extra YAML lines. */
export function yamlConfig(backends: string[], extra = ''): string {
  return `listen: 127.0.0.1:0\nbackends:\n${backends.map((u) => `  - url: ${u}\n`).join('')}${extra}`;
}

/**
 * TEST_ENGINE is the engine the integration tests of the proxy run against:
 * YALB_TEST_ENGINE when set (`npm test` runs them once per engine), else
 * lb.yaml's default.
 */
export const TEST_ENGINE = process.env.YALB_TEST_ENGINE;

/** withTestEngine adds `engine: TEST_ENGINE` to a config that names none. */
export function withTestEngine(yaml: string): string {
  return TEST_ENGINE && !/^engine:/m.test(yaml) ? `engine: ${TEST_ENGINE}\n${yaml}` : yaml;
}

/** startTestDaemon writes `yaml` to lb.yaml in a temp folder and starts a daemon on it, stopped in teardown. */
export async function startTestDaemon(
  t: Teardown, yaml: string, opts: Partial<DaemonOptions> & { logs?: LogCapture; dir?: string } = {},
): Promise<{ daemon: Daemon; file: string; dir: string; url: string; logs: LogCapture }> {
  const dir = opts.dir ?? tempDir(t);
  const file = path.join(dir, 'lb.yaml');
  writeFileSync(file, withTestEngine(yaml));
  const logs = opts.logs ?? new LogCapture();
  const log = createLogger({ level: 'debug', format: 'json', stream: logs.stream });
  const daemon = await createDaemon({ configPath: file, log, processMetrics: false, watchPollMs: 0, ...opts });
  t.after(() => daemon.stop());
  return { daemon, file, dir, url: `http://127.0.0.1:${daemon.address.port}`, logs };
}

/** Reply is a finished HTTP exchange. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  raw: Buffer;
}

/** request sends one HTTP request with a fresh connection (no keep-alive, optionally from `localAddress`) and reads the whole answer. */
export function request(url: string, opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string; agent?: http.Agent | false; timeoutMs?: number; localAddress?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false, localAddress: opts.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString(), raw });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error('client timeout')));
    req.end(opts.body);
  });
}
