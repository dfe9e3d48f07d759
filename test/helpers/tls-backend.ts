/**
 * An HTTPS backend for tests: node:https on 127.0.0.1:0 with one of the
 * test-only certificates of test/fixtures/tls/, counting its requests,
 * closed with its connections in teardown.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Teardown } from './daemon.js';

/** TLS_DIR is the folder of the test certificates. */
export const TLS_DIR = path.resolve(import.meta.dirname, '../fixtures/tls');

/** startHttpsBackend answers 200 with the certificate's name as body. */
export async function startHttpsBackend(t: Teardown, cert: 'localhost' | 'other-name' = 'localhost'): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = https.createServer({
    key: readFileSync(path.join(TLS_DIR, `${cert}.key`)),
    cert: readFileSync(path.join(TLS_DIR, `${cert}.crt`)),
  }, (_req, res) => {
    hits++;
    res.end(`${cert}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}
