/**
 * Reloader: the one apply path for every way a config arrives (file event,
 * SIGHUP, `yalb reload`). candidate → load and validate → same bytes as the
 * running config? ignore → hand it to the generation lifecycle
 * (generation.ts: build, bind, commit or roll back). A failure anywhere
 * before the commit leaves the old generation serving untouched, and is kept
 * as `lastReload` for /status. Reloads run one at a time, in order.
 */
import { formatIssue, loadConfig, positionOf } from '../config/load.js';
import type { LbConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { configDiff } from './diff.js';

/** LastReload is the result of the latest reload attempt, as /status shows it. */
export type LastReload =
  | { ok: true; at: string; hash: string; trigger: string; changes: string[] }
  | { ok: false; at: string; errors: string[]; trigger: string };

/** ReloadResult is what reload() resolves with. */
export type ReloadResult =
  | { ok: true; applied: boolean; hash: string; changes: string[] }
  | { ok: false; errors: string[] };

/** ReloadTarget is what the reloader drives: the generation lifecycle (Generations). */
export interface ReloadTarget {
  /** current is the generation that serves now. */
  readonly current: { readonly config: LbConfig; readonly hash: string };
  /**
   * apply builds the next generation from `config` and swaps it in. It must
   * either complete the swap or throw leaving the old generation untouched.
   * An error with `configPath` (e.g. ['listen'] for an address that cannot
   * be bound) is reported at that key's file:line:col.
   */
  apply(config: LbConfig, hash: string): Promise<void>;
}

/** ReloadRecord is one finished attempt that did something (applied, failed, or the file back in sync), for the history. */
export interface ReloadRecord {
  trigger: string;
  at: string;
  result: 'applied' | 'failed' | 'restored';
  durationMs: number;
  hash?: string;
  changes: string[];
  errors: string[];
}

/** ReloaderHooks report outcomes (metrics, the reload history). */
export interface ReloaderHooks {
  onResult?(ok: boolean): void;
  /** onReload hears every attempt that did something; an unchanged file is not one. */
  onReload?(r: ReloadRecord): void;
}

/** Reloader serialises reloads and records the last result. */
export class Reloader {
  readonly #file: string;
  readonly #target: ReloadTarget;
  readonly #log: Logger;
  readonly #hooks: ReloaderHooks;
  #queue: Promise<unknown> = Promise.resolve();
  #waiting: Promise<ReloadResult> | undefined;
  /** lastReload is undefined until the first reload after start. */
  lastReload: LastReload | undefined;
  /** applied counts reloads that changed the running config. */
  applied = 0;

  constructor(file: string, target: ReloadTarget, log: Logger, hooks: ReloaderHooks = {}) {
    this.#file = file;
    this.#target = target;
    this.#log = log;
    this.#hooks = hooks;
  }

  /**
   * reload queues one reload and resolves with its result. It never rejects.
   * A reload that is queued but not started yet absorbs later requests: it
   * reads the file when it starts, so it sees their changes too (a burst of
   * file events during a slow apply costs one more reload, not one each).
   */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.#waiting) return this.#waiting;
    const run = this.#queue.then(() => {
      this.#waiting = undefined;
      return this.#reloadNow(trigger);
    });
    this.#waiting = run;
    this.#queue = run;
    return run;
  }

  /** settled resolves once every queued reload has finished. */
  async settled(): Promise<void> {
    let q: Promise<unknown>;
    do {
      q = this.#queue;
      await q;
    } while (q !== this.#queue);
  }

  async #reloadNow(trigger: string): Promise<ReloadResult> {
    const started = performance.now();
    try {
      return await this.#attempt(trigger, started);
    } catch (err) {
      // A bug, not a bad file: keep serving, and say so like any failed reload.
      return this.#failed(trigger, [`${this.#file}: internal error: ${(err as Error).message}`], new Date().toISOString(), started);
    }
  }

  async #attempt(trigger: string, started: number): Promise<ReloadResult> {
    const at = () => new Date().toISOString();
    const took = () => Math.round((performance.now() - started) * 10) / 10;
    const loaded = await loadConfig(this.#file);
    const running = this.#target.current;
    if (loaded.ok && loaded.hash === running.hash) {
      if (this.lastReload?.ok === false) {
        // The file is back to the bytes that serve: it is in sync again.
        this.lastReload = { ok: true, at: at(), hash: loaded.hash, trigger, changes: [] };
        this.#log.info(`reload (${trigger}): ${this.#file} matches the running config again`);
        this.#hooks.onReload?.({ trigger, at: this.lastReload.at, result: 'restored', durationMs: took(), hash: loaded.hash, changes: [], errors: [] });
      } else if (this.#log.isDebugEnabled()) {
        this.#log.debug(`reload (${trigger}): content unchanged, ignored`);
      }
      return { ok: true, applied: false, hash: loaded.hash, changes: [] };
    }
    if (!loaded.ok) {
      const errors = loaded.issues.map(formatIssue);
      return this.#failed(trigger, errors, at(), started, loaded.hash);
    }
    const changes = configDiff(running.config, loaded.config);
    try {
      await this.#target.apply(loaded.config, loaded.hash);
    } catch (err) {
      const e = err as Error & { configPath?: string[] };
      const where = e.configPath ? positionOf(loaded.text, e.configPath) : undefined;
      const prefix = where ? `${this.#file}:${where.line}:${where.col}: ${e.configPath?.join('.')}: ` : `${this.#file}: `;
      return this.#failed(trigger, [prefix + e.message], at(), started, loaded.hash);
    }
    this.applied++;
    this.lastReload = { ok: true, at: at(), hash: loaded.hash, trigger, changes };
    this.#hooks.onResult?.(true);
    this.#hooks.onReload?.({ trigger, at: this.lastReload.at, result: 'applied', durationMs: took(), hash: loaded.hash, changes, errors: [] });
    this.#log.info(`reload applied (${trigger}): ${changes.length ? changes.join(', ') : 'no effective change (formatting or comments)'}`);
    return { ok: true, applied: true, hash: loaded.hash, changes };
  }

  #failed(trigger: string, errors: string[], at: string, started: number, hash?: string): ReloadResult {
    this.lastReload = { ok: false, at, errors, trigger };
    this.#hooks.onResult?.(false);
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    this.#hooks.onReload?.({ trigger, at, result: 'failed', durationMs, ...(hash ? { hash } : {}), changes: [], errors });
    this.#log.error(`reload failed (${trigger}), keeping the running config:\n${errors.join('\n')}`);
    return { ok: false, errors };
  }
}
