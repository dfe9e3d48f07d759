/**
 * Read a daemon's /metrics in tests: every sample parsed (the line must be
 * Prometheus text), then looked up by name and exact label set.
 */
import assert from 'node:assert/strict';
import { request } from './daemon.js';

/** Scrape is one /metrics answer: `get('name{a="x",b="y"}')` reads a sample (labels in any order). */
export interface Scrape {
  text: string;
  get(name: string, labels?: Record<string, string>): number | undefined;
}

/** scrape GETs /metrics and parses every sample line. */
export async function scrape(admin: string): Promise<Scrape> {
  const text = (await request(`${admin}/metrics`)).body;
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k as string] = v as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return {
    text,
    get(name, want = {}) {
      const hit = samples.find((s) => s.name === name && Object.keys(want).length === Object.keys(s.labels).length
        && Object.entries(want).every(([k, v]) => s.labels[k] === v));
      return hit?.value;
    },
  };
}

