/**
 * Reloader: the one apply path for every way a config arrives (file event,
 * SIGHUP, `yalb reload`). candidate → load and validate → same bytes as the
 * running config? ignore → build the next generation fully → commit (one
 * assignment) → the old generation stops. A failure anywhere before the
 * commit leaves the old generation serving untouched, and is kept as
 * `lastReload` for /status. Reloads run one at a time, in order.
 */
import { formatIssue, loadConfig } from '../config/load.js';
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

/** ReloadTarget is what the reloader drives; the daemon implements it. */
export interface ReloadTarget {
  /** running returns the config and hash that serve now. */
  running(): { config: LbConfig; hash: string };
  /**
   * apply builds the next generation from `config` and swaps it in. It must
   * either complete the swap or throw leaving the old generation untouched.
   */
  apply(config: LbConfig, hash: string): Promise<void>;
}

/** ReloaderHooks report outcomes (metrics). */
export interface ReloaderHooks {
  onResult?(ok: boolean): void;
}

/** Reloader serialises reloads and records the last result. */
export class Reloader {
  readonly #file: string;
  readonly #target: ReloadTarget;
  readonly #log: Logger;
  readonly #hooks: ReloaderHooks;
  #queue: Promise<unknown> = Promise.resolve();
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

  /** reload queues one reload and resolves with its result. It never rejects. */
  reload(trigger: string): Promise<ReloadResult> {
    const run = this.#queue.then(() => this.#reloadNow(trigger));
    this.#queue = run;
    return run;
  }

  async #reloadNow(trigger: string): Promise<ReloadResult> {
    const at = () => new Date().toISOString();
    const loaded = await loadConfig(this.#file);
    const running = this.#target.running();
    if (loaded.ok && loaded.hash === running.hash) {
      if (this.lastReload?.ok === false) {
        // The file is back to the bytes that serve: it is in sync again.
        this.lastReload = { ok: true, at: at(), hash: loaded.hash, trigger, changes: [] };
        this.#log.info(`reload (${trigger}): ${this.#file} matches the running config again`);
      } else if (this.#log.isDebugEnabled()) {
        this.#log.debug(`reload (${trigger}): content unchanged, ignored`);
      }
      return { ok: true, applied: false, hash: loaded.hash, changes: [] };
    }
    if (!loaded.ok) {
      const errors = loaded.issues.map(formatIssue);
      return this.#failed(trigger, errors, at());
    }
    const changes = configDiff(running.config, loaded.config);
    try {
      await this.#target.apply(loaded.config, loaded.hash);
    } catch (err) {
      const e = err as Error & { code?: string };
      return this.#failed(trigger, [`${this.#file}: ${e.message}`], at());
    }
    this.applied++;
    this.lastReload = { ok: true, at: at(), hash: loaded.hash, trigger, changes };
    this.#hooks.onResult?.(true);
    this.#log.info(`reload applied (${trigger}): ${changes.length ? changes.join(', ') : 'no effective change (formatting or comments)'}`);
    return { ok: true, applied: true, hash: loaded.hash, changes };
  }

  #failed(trigger: string, errors: string[], at: string): ReloadResult {
    this.lastReload = { ok: false, at, errors, trigger };
    this.#hooks.onResult?.(false);
    this.#log.error(`reload failed (${trigger}), keeping the running config:\n${errors.join('\n')}`);
    return { ok: false, errors };
  }
}
