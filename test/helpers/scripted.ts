/**
 * Scripts for TestBackend that tell probes from traffic: requests to the
 * health path are counted as probes and answered with a status the test
 * chooses per probe; every other request is traffic, answered the way the
 * test chooses. Plus small traffic helpers: bounded bursts and shares.
 */
import http from 'node:http';
import type { TestBackend } from './backend.js';
import { type Reply, request } from './daemon.js';

/** Traffic is how a scripted backend answers requests that are not probes. */
export type Traffic =
  | { kind: 'ok' }
  | { kind: 'status'; status: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'stall' };

/** HealthScript drives one TestBackend; its counters split probes from traffic. */
export class HealthScript {
  readonly backend: TestBackend;
  readonly path: string;
  /** probes counts requests to the health path; traffic counts the others. */
  probes = 0;
  traffic = 0;
  /** health answers probe number n (1-based) with a status. */
  health: (n: number) => number = () => 200;
  /** answer is how traffic is answered. */
  answer: Traffic = { kind: 'ok' };
  readonly #pending = new Set<http.ServerResponse>();

  constructor(backend: TestBackend, path = '/health') {
    this.backend = backend;
    this.path = path;
    backend.behaviour = { kind: 'custom', handler: (req, res) => this.#handle(req, res) };
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if ((req.url ?? '').split('?')[0] === this.path) {
      this.probes++;
      const status = this.health(this.probes);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`${status}\n`);
      return;
    }
    this.traffic++;
    const name = this.backend.name;
    const a = this.answer;
    const ok = () => {
      const body = `${name}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    switch (a.kind) {
      case 'ok': ok(); return;
      case 'status':
        res.writeHead(a.status, { 'x-backend': name });
        res.end(`${name} ${a.status}\n`);
        return;
      case 'delay': {
        this.#pending.add(res);
        const t = setTimeout(() => {
          this.#pending.delete(res);
          ok();
        }, a.ms);
        res.on('close', () => {
          clearTimeout(t);
          this.#pending.delete(res);
        });
        return;
      }
      case 'stall':
        this.#pending.add(res);
        res.on('close', () => this.#pending.delete(res));
    }
  }
}

/** burst sends `n` GETs with at most `concurrency` in flight and returns every reply (or error) in order. */
export async function burst(url: string, n: number, concurrency: number, opts: { timeoutMs?: number } = {}): Promise<Array<Reply | Error>> {
  const out: Array<Reply | Error> = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        out[i] = await request(url, { timeoutMs: opts.timeoutMs ?? 10_000 });
      } catch (err) {
        out[i] = err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return out;
}

/** tally counts replies by body (the backend's name) or by "status N" for failures. */
export function tally(replies: Array<Reply | Error>): Record<string, number> {
  const m: Record<string, number> = {};
  for (const r of replies) {
    const k = r instanceof Error ? `error ${r.message}` : r.status === 200 ? r.body.trim() : `status ${r.status}`;
    m[k] = (m[k] ?? 0) + 1;
  }
  return m;
}

/** countLines counts the log lines that contain `text`. */
export function countLines(lines: readonly string[], text: string): number {
  return lines.filter((l) => l.includes(text)).length;
}
