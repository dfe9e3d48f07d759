/**
 * ConfigWatcher notices that lb.yaml may have changed and says so with a
 * debounced 'candidate' event; it knows nothing of pools or YAML.
 *
 * Why the directory and not the file (Traefik's file provider does the
 * same): a watch on the file follows an inode, and editors that save by
 * renaming a temp file over it, `git checkout`, delete-and-recreate, and
 * Kubernetes ConfigMap volumes (lb.yaml → ..data/lb.yaml, ..data swapped by
 * renaming a new symlink over it) all replace the inode. So chokidar watches
 * dirname(file) at depth 0 without following links, and keeps only events
 * for the file's basename and the names on its symlink chain (`..data`).
 * Every event only means "maybe changed": the reloader hashes the content
 * and ignores a candidate whose bytes did not change. A slow stat poll is a
 * safety net for filesystems that send no events (network mounts, bind mounts).
 */
import { EventEmitter } from 'node:events';
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Logger } from '../log/logger.js';

/** WatcherOptions tune the debounce and the safety-net poll. */
export interface WatcherOptions {
  /** debounceMs: events closer than this become one candidate (default 100). */
  debounceMs?: number;
  /** pollMs: stat the file this often as a safety net; 0 disables (default 2000). */
  pollMs?: number;
  log: Logger;
}

/** linkChainNames lists the names inside `dir` that the path's symlink chain passes through. */
export function linkChainNames(file: string): Set<string> {
  const dir = path.dirname(file);
  const names = new Set([path.basename(file)]);
  let p = file;
  for (let hop = 0; hop < 16; hop++) {
    let target: string;
    try {
      if (!lstatSync(p).isSymbolicLink()) {
        // A regular file reached through a linked directory (..data/lb.yaml): add that directory.
        break;
      }
      target = path.resolve(path.dirname(p), readlinkSync(p));
    } catch {
      break;
    }
    const rel = path.relative(dir, target);
    if (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel)) {
      names.add(rel.split(path.sep)[0] as string);
    }
    // Follow links in the parents too (..data is itself a link to ..2026_…).
    const parent = path.dirname(target);
    try {
      if (lstatSync(parent).isSymbolicLink()) {
        const relParent = path.relative(dir, parent);
        if (!relParent.startsWith('..' + path.sep)) names.add(relParent.split(path.sep)[0] as string);
      }
    } catch {
      // parent gone: stop here
    }
    p = target;
  }
  return names;
}

/** ConfigWatcher emits 'candidate' (debounced) and 'missing' when the file is gone. */
export class ConfigWatcher extends EventEmitter<{ candidate: [reason: string]; missing: [] }> {
  readonly file: string;
  readonly #opts: Required<Omit<WatcherOptions, 'log'>> & { log: Logger };
  #watcher: FSWatcher | undefined;
  #names: Set<string>;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #lastStat = '';

  constructor(file: string, opts: WatcherOptions) {
    super();
    this.file = path.resolve(file);
    this.#opts = { debounceMs: opts.debounceMs ?? 100, pollMs: opts.pollMs ?? 2000, log: opts.log };
    this.#names = linkChainNames(this.file);
  }

  /** start begins watching; resolves once chokidar is ready. */
  async start(): Promise<void> {
    const dir = path.dirname(this.file);
    const w = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (p: string) => p !== dir && !this.#names.has(path.basename(p)),
    });
    this.#watcher = w;
    w.on('all', (event, p) => this.#onEvent(event, p));
    w.on('error', (err) => this.#opts.log.warn(`config watcher error: ${(err as Error).message}`));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    this.#lastStat = this.#statKey();
    if (this.#opts.pollMs > 0) {
      this.#poll = setInterval(() => {
        const k = this.#statKey();
        if (k !== this.#lastStat) {
          this.#lastStat = k;
          this.#fire('poll');
        }
      }, this.#opts.pollMs);
      this.#poll.unref();
    }
  }

  /** stop ends the watch and every timer. */
  async stop(): Promise<void> {
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    await this.#watcher?.close();
    this.#watcher = undefined;
  }

  #statKey(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  #onEvent(event: string, p: string): void {
    if (!this.#names.has(path.basename(p))) return;
    this.#fire(`${event} ${path.basename(p)}`);
  }

  #fire(reason: string): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#names = linkChainNames(this.file); // the chain may have changed (new ..data target)
      this.#lastStat = this.#statKey();
      if (this.#lastStat === 'missing') this.emit('missing');
      else this.emit('candidate', reason);
    }, this.#opts.debounceMs);
  }
}
