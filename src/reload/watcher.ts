/**
 * ConfigWatcher notices that lb.yaml may have changed and says so with a
 * debounced 'candidate' event; it knows nothing of pools or YAML.
 *
 * Why the directory and not the file (Traefik's file provider does the
 * same): a watch on the file follows an inode, and editors that save by
 * renaming a temp file over it, `git checkout`, delete-and-recreate, and
 * Kubernetes ConfigMap volumes (lb.yaml → ..data/lb.yaml, ..data swapped by
 * renaming a new symlink over it) all replace the inode. So chokidar watches
 * directories at depth 0 without following links, and keeps only the names
 * that lead to the file: its basename, and every link on its symlink chain
 * (`..data` in the config's directory; for a link to a file elsewhere, that
 * file's name in its own directory). The chain is recomputed after every
 * burst of events, so the watch follows a swapped link to its new target.
 *
 * Every event only means "maybe changed": the reloader hashes the content
 * and ignores a candidate whose bytes did not change, and rejects a
 * half-written file as invalid (the rest of the write is the next event).
 * A slow stat poll is a safety net for filesystems that send no events
 * (network mounts, bind mounts) and for a config directory that is replaced
 * as a whole; then the watch is set up again on the new directory.
 */
import { EventEmitter } from 'node:events';
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
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

/** WatchTargets maps each directory to watch to the entry names in it that lead to the config file. */
export type WatchTargets = Map<string, Set<string>>;

const MAX_HOPS = 16;

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * watchTargets lists where a change to `file` can show up: its own name in
 * its directory, and for each symlink on the way to the real file (the file
 * itself, or its parent directory as with ConfigMap's `..data`), the link's
 * name in the link's directory and the next path's name in its directory.
 * A plain file gives one directory with one name. At most 16 hops (a link
 * loop ends there, like ELOOP).
 */
export function watchTargets(file: string): WatchTargets {
  const targets: WatchTargets = new Map();
  const add = (p: string) => {
    const dir = path.dirname(p);
    let names = targets.get(dir);
    if (!names) targets.set(dir, (names = new Set()));
    names.add(path.basename(p));
  };
  let p = path.resolve(file);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const parent = path.dirname(p);
    if (isLink(parent)) {
      // ..data/lb.yaml: the directory is the link that gets swapped; the
      // file is watched under the directory's real name.
      add(parent);
      try {
        p = path.join(realpathSync(parent), path.basename(p));
      } catch {
        break; // dangling: nothing further to watch until it is fixed
      }
      continue;
    }
    add(p);
    if (!isLink(p)) break;
    try {
      p = path.resolve(parent, readlinkSync(p));
    } catch {
      break;
    }
  }
  return targets;
}

/** linkChainNames lists the names inside the file's own directory that lead to it (lb.yaml, ..data). */
export function linkChainNames(file: string): Set<string> {
  return watchTargets(file).get(path.dirname(path.resolve(file))) ?? new Set();
}

/** ConfigWatcher emits 'candidate' (debounced) and 'missing' when the file is gone. */
export class ConfigWatcher extends EventEmitter<{ candidate: [reason: string]; missing: [] }> {
  readonly file: string;
  readonly #dir: string;
  readonly #opts: Required<Omit<WatcherOptions, 'log'>> & { log: Logger };
  #watcher: FSWatcher | undefined;
  #targets: WatchTargets;
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #reasons = new Set<string>();
  #lastStat = '';
  #dirKey = '';
  #rearming = false;
  #stopped = false;

  constructor(file: string, opts: WatcherOptions) {
    super();
    this.file = path.resolve(file);
    this.#dir = path.dirname(this.file);
    this.#opts = { debounceMs: opts.debounceMs ?? 100, pollMs: opts.pollMs ?? 2000, log: opts.log };
    this.#targets = watchTargets(this.file);
  }

  /** watched lists the directories being watched (for tests and debug logs). */
  get watched(): string[] {
    return [...this.#targets.keys()];
  }

  /** start begins watching; resolves once chokidar is ready. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#arm();
    this.#lastStat = this.#statKey();
    if (this.#opts.pollMs > 0) {
      this.#poll = setInterval(() => this.#pollOnce(), this.#opts.pollMs);
      this.#poll.unref();
    }
  }

  /** stop ends the watch and every timer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    clearInterval(this.#poll);
    const w = this.#watcher;
    this.#watcher = undefined;
    await w?.close();
  }

  async #arm(): Promise<void> {
    const w = watch(this.#existingDirs(), {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      // A watched directory itself is kept; inside one, only the names that lead to the file.
      ignored: (p: string) => !this.#targets.has(p) && !this.#relevant(p),
    });
    w.on('all', (event, p) => {
      if (!this.#relevant(p) || this.#staleRemoval(event, p)) return;
      this.#fire(`${event} ${path.basename(p)}`);
    });
    w.on('error', (err) => this.#opts.log.warn(`config watcher error: ${(err as Error).message}`));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    this.#watcher = w;
    this.#dirKey = this.#inode(this.#dir);
  }

  #existingDirs(): string[] {
    return [...this.#targets.keys()].filter((d) => d === this.#dir || this.#inode(d) !== 'missing');
  }

  /**
   * #staleRemoval tells a removal inside a directory that is gone and is not
   * the config's own: the old version directory of a ConfigMap swap. The
   * link change already said "maybe changed"; chokidar reports this removal
   * only after its `atomic` delay (100 ms), which would hold the debounce.
   */
  #staleRemoval(event: string, p: string): boolean {
    const dir = path.dirname(p);
    return (event === 'unlink' || event === 'unlinkDir') && dir !== this.#dir && this.#inode(dir) === 'missing';
  }

  #relevant(p: string): boolean {
    return this.#targets.get(path.dirname(p))?.has(path.basename(p)) === true;
  }

  #inode(p: string): string {
    try {
      return String(statSync(p).ino);
    } catch {
      return 'missing';
    }
  }

  #statKey(): string {
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return 'missing';
    }
  }

  #pollOnce(): void {
    // A replaced config directory leaves chokidar on the old inode: watch again.
    if (!this.#rearming && this.#inode(this.#dir) !== this.#dirKey) void this.#rearm();
    if (this.#statKey() !== this.#lastStat) this.#fire('poll');
  }

  async #rearm(): Promise<void> {
    this.#rearming = true;
    try {
      // Close first: chokidar shares one fs.watch per path between its
      // watchers, so a new watch opened before the old one closes would
      // reuse the handle on the old inode.
      const old = this.#watcher;
      this.#watcher = undefined;
      await old?.close();
      this.#targets = watchTargets(this.file);
      await this.#arm();
      if (this.#stopped) {
        await this.stop();
        return;
      }
      this.#opts.log.info(`config watcher: ${this.#dir} was replaced; watching it again`);
      this.#fire('rewatch'); // whatever changed while no watch was open
    } catch (err) {
      this.#opts.log.warn(`config watcher: cannot watch ${this.#dir} again: ${(err as Error).message}`);
    } finally {
      this.#rearming = false;
    }
  }

  /** #retarget follows the symlink chain to where it points now (a ConfigMap swap changes the real directory). */
  #retarget(): void {
    const next = watchTargets(this.file);
    const w = this.#watcher;
    const before = new Set(this.#targets.keys());
    this.#targets = next;
    if (!w) return;
    const added = [...next.keys()].filter((d) => !before.has(d) && this.#inode(d) !== 'missing');
    const removed = [...before].filter((d) => !next.has(d) && d !== this.#dir);
    if (removed.length) w.unwatch(removed);
    if (added.length) w.add(added);
  }

  #fire(reason: string): void {
    if (this.#stopped) return;
    this.#reasons.add(reason);
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      const why = [...this.#reasons].join(', ');
      this.#reasons.clear();
      this.#retarget();
      this.#lastStat = this.#statKey();
      if (this.#lastStat === 'missing') this.emit('missing');
      else this.emit('candidate', why);
    }, this.#opts.debounceMs);
  }
}

/**
 * watchConfig makes a ConfigWatcher (not yet started) that calls `reload`
 * with the trigger ("file change lb.yaml", …) for every candidate and warns
 * while the file is missing.
 */
export function watchConfig(file: string, reload: (trigger: string) => void, log: Logger, opts: { debounceMs?: number | undefined; pollMs?: number | undefined } = {}): ConfigWatcher {
  const w = new ConfigWatcher(file, { log, debounceMs: opts.debounceMs, pollMs: opts.pollMs });
  w.on('candidate', (reason: string) => reload(`file ${reason}`));
  w.on('missing', () => log.warn(`${file} is gone; keeping the running config until it comes back`));
  return w;
}
