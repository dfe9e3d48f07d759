/**
 * Helpers for hot-reload tests: an lb.yaml builder with the knobs reload
 * tests turn, waits on the daemon's generation and on the backend that
 * answers, and one function per way a config file gets saved in real life
 * (editors, git, Kubernetes ConfigMap volumes), shared by the tests and by
 * examples/bench/reload-latency.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Daemon } from '../../src/daemon/daemon.js';
import { request, type Reply } from './daemon.js';
import { waitFor } from './wait.js';

/** LbYamlOptions are the lb.yaml settings reload tests change. */
export interface LbYamlOptions {
  listen?: string;
  strategy?: string;
  /** weights, by position in the backend list. */
  weights?: number[];
  /** extra YAML appended as is (top-level keys). */
  extra?: string;
}

/** lbYaml renders an lb.yaml with these backends (listen 127.0.0.1:0 unless told). */
export function lbYaml(backends: string[], o: LbYamlOptions = {}): string {
  const lines = [`listen: ${o.listen ?? '127.0.0.1:0'}`];
  if (o.strategy) lines.push(`strategy: ${o.strategy}`);
  lines.push('backends:');
  backends.forEach((url, i) => {
    lines.push(`  - url: ${url}`);
    const w = o.weights?.[i];
    if (w !== undefined) lines.push(`    weight: ${w}`);
  });
  return `${lines.join('\n')}\n${o.extra ?? ''}`;
}

/** nameOf is the backend name a TestBackend answers with ('' for a failed request). */
export function nameOf(r: Reply): string {
  return r.status === 200 ? r.body.trim().split(/\s/)[0] ?? '' : '';
}

/** waitForBackend polls `url` until backend `name` answers; resolves with the ms it took. */
export async function waitForBackend(url: string, name: string, timeoutMs = 3000, agent?: http.Agent): Promise<number> {
  const t0 = performance.now();
  let last = '';
  try {
    await waitFor(async () => {
      const r = await request(url, { timeoutMs: 2000, agent });
      last = `${r.status} ${r.body.trim()}`;
      return nameOf(r) === name;
    }, { timeoutMs, intervalMs: 10, what: `backend ${name} to answer on ${url}` });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last answer: ${last}`);
  }
  return performance.now() - t0;
}

/** answers sends `n` sequential GETs and lists the names of the backends that answered. */
export async function answers(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(nameOf(await request(url)) || 'FAILED');
  return out;
}

/** waitForGeneration waits until the daemon's generation number reaches `n`. */
export async function waitForGeneration(daemon: Daemon, n: number, timeoutMs = 3000): Promise<void> {
  await waitFor(() => daemon.current.number >= n, { timeoutMs, what: `generation ${n}` });
}

/** waitForLog waits until a log line after index `from` contains `text`; resolves with that line. */
export function waitForLog(lines: readonly string[], text: string | RegExp, from = 0, timeoutMs = 3000): Promise<string> {
  const hit = (l: string) => (typeof text === 'string' ? l.includes(text) : text.test(l));
  return waitFor(() => lines.slice(from).find(hit), { timeoutMs, what: `a log line matching ${String(text)}` });
}

/** delay is the pause a scripted writer takes between two steps of one save (part of the scenario, not a wait for a result). */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- save styles ----------------------------------------------------------

let tmpSeq = 0;

/** saveInPlace writes the file in place (`fs.writeFileSync`, `echo > lb.yaml`): same inode, truncated then written. */
export function saveInPlace(file: string, text: string): void {
  writeFileSync(file, text);
}

/**
 * saveInTwoChunks truncates the file, writes the bytes before `splitAt`,
 * pauses `pauseMs` (a slow writer), then writes the rest: readers in
 * between see a half-written file.
 */
export async function saveInTwoChunks(file: string, text: string, splitAt: number, pauseMs: number): Promise<void> {
  const bytes = Buffer.from(text);
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, bytes, 0, splitAt, 0);
    await delay(pauseMs);
    writeSync(fd, bytes, splitAt, bytes.length - splitAt, splitAt);
  } finally {
    closeSync(fd);
  }
}

/** saveByRename writes a temp file in the same directory and renames it over (VS Code, `sed -i`, most tools). */
export function saveByRename(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tmpSeq++}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** saveVimStyle renames the original to `lb.yaml~`, writes a new file, then removes the backup (vim's default). */
export function saveVimStyle(file: string, text: string): void {
  const backup = `${file}~`;
  renameSync(file, backup);
  writeFileSync(file, text);
  unlinkSync(backup);
}

/** deleteAndRecreate removes the file and writes it anew at once (`rm lb.yaml && cp new.yaml lb.yaml`). */
export function deleteAndRecreate(file: string, text: string): void {
  unlinkSync(file);
  writeFileSync(file, text);
}

/** hasGit tells whether a usable `git` is on the PATH. */
export function hasGit(): boolean {
  const r = spawnSync('git', ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/**
 * GitConfigRepo is a git work tree holding lb.yaml, one commit (and tag
 * v0, v1, …) per version; checkout(i) is `git checkout` between them.
 */
export class GitConfigRepo {
  readonly dir: string;
  readonly file: string;

  constructor(dir: string, name = 'lb.yaml') {
    this.dir = dir;
    this.file = path.join(dir, name);
  }

  #git(...args: string[]): void {
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', '-c', 'advice.detachedHead=false', ...args], {
      cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'],
    });
  }

  /** init creates the repository with one commit per text; the work tree is left at the last one. */
  init(texts: string[]): this {
    this.#git('init', '-q');
    texts.forEach((text, i) => {
      writeFileSync(this.file, text);
      this.#git('add', path.basename(this.file));
      this.#git('commit', '-q', '-m', `v${i}`);
      this.#git('tag', `v${i}`);
    });
    return this;
  }

  /** checkout switches the work tree to version `i` (`git checkout -q v<i>`). */
  checkout(i: number): void {
    this.#git('checkout', '-q', `v${i}`);
  }
}

/**
 * ConfigMapDir lays out a directory the way the kubelet mounts a
 * ConfigMap: lb.yaml → ..data/lb.yaml, ..data → ..2026_11_25_a; swap()
 * writes a new version dir, points ..data_tmp at it, renames ..data_tmp
 * over ..data (atomic), and removes the old version dir.
 */
export class ConfigMapDir {
  readonly dir: string;
  readonly file: string;
  readonly #name: string;
  #n = 0;
  #current = '';

  constructor(dir: string, name = 'lb.yaml') {
    this.dir = dir;
    this.#name = name;
    this.file = path.join(dir, name);
  }

  #version(text: string): string {
    let n = this.#n++;
    let suffix = '';
    do {
      suffix = String.fromCharCode(97 + (n % 26)) + suffix;
      n = Math.floor(n / 26) - 1;
    } while (n >= 0);
    const v = `..2026_11_25_${suffix}`;
    mkdirSync(path.join(this.dir, v));
    writeFileSync(path.join(this.dir, v, this.#name), text);
    return v;
  }

  /** init writes the first version and the two symlinks. */
  init(text: string): this {
    this.#current = this.#version(text);
    symlinkSync(this.#current, path.join(this.dir, '..data'));
    symlinkSync(path.join('..data', this.#name), this.file);
    return this;
  }

  /** swap publishes a new version the kubelet way. */
  swap(text: string): void {
    const old = this.#current;
    this.#current = this.#version(text);
    const tmp = path.join(this.dir, '..data_tmp');
    symlinkSync(this.#current, tmp);
    renameSync(tmp, path.join(this.dir, '..data'));
    rmSync(path.join(this.dir, old), { recursive: true, force: true });
  }
}
