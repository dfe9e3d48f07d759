/**
 * HealthScheduler runs the active checks of one pool generation: every
 * backend is probed at once (not after the first interval, as the seed did),
 * then every interval with up to 10 % jitter so backends are not probed in
 * lockstep. Results go to a HealthSink (the pool), never to the pool's
 * state directly. A probe that fails or throws never stops the loop. stop()
 * aborts probes in progress and every timer.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { StatusRanges } from '../config/schema.js';
import type { Backend } from '../pool/backend.js';
import type { HealthSink } from '../pool/pool.js';
import type { Logger } from '../log/logger.js';
import type { BackendTrust } from '../config/backend-tls.js';
import { httpProbe, type ProbeResult, tcpProbe } from './probes.js';

/** HealthSettings are the healthCheck.* values in ms. */
export interface HealthSettings {
  intervalMs: number;
  timeoutMs: number;
  path: string | undefined;
  /** expectStatus: the status ranges that pass an HTTP probe (parsed once by the config schema). */
  expectStatus: StatusRanges;
  /** trust: how https:// backends' certificates are checked (tls.backend; default Node's store). */
  trust?: BackendTrust | undefined;
}

/** PROBE_BATCH is how many probes probeOnce starts in one turn of the event loop. */
const PROBE_BATCH = 256;

/** Prober probes one backend; injectable for tests. */
export type Prober = (backend: Backend, signal: AbortSignal) => Promise<ProbeResult>;

/** defaultProber returns the TCP or HTTP prober the settings ask for. */
export function defaultProber(cfg: HealthSettings): Prober {
  return cfg.path === undefined
    ? (b, signal) => tcpProbe(b.url, cfg.timeoutMs, signal, cfg.trust)
    : (b, signal) => httpProbe(b.url, cfg.path as string, cfg.expectStatus, cfg.timeoutMs, signal, cfg.trust);
}

/** HealthScheduler probes a generation's backends until stopped. */
export class HealthScheduler {
  readonly #backends: readonly Backend[];
  readonly #sink: HealthSink;
  readonly #cfg: HealthSettings;
  readonly #log: Logger;
  readonly #probe: Prober;
  /**
   * #inFlight holds one controller per probe in flight: stop() aborts each.
   * Why not one shared signal: every probe would add a listener to it, and
   * EventTarget's add is O(listeners), so 10,000 probes cost O(n²). Measured
   * (examples/bench/reload-stall.ts, 10,000 backends): the start-up stall of
   * the event loop went from 1.94 s to 1.28 s (the rest is config parsing).
   */
  readonly #inFlight = new Set<AbortController>();
  #stopped = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #random: () => number;

  constructor(backends: readonly Backend[], sink: HealthSink, cfg: HealthSettings, log: Logger, opts: { prober?: Prober; random?: () => number } = {}) {
    this.#backends = backends;
    this.#sink = sink;
    this.#cfg = cfg;
    this.#log = log;
    this.#probe = opts.prober ?? defaultProber(cfg);
    this.#random = opts.random ?? Math.random;
  }

  /**
   * probeOnce probes `backends` (default: all) once, in parallel, and
   * resolves when every probe has answered (each bounded by its timeout).
   * Probes start PROBE_BATCH at a time, with a turn of the event loop
   * between batches, so that a large pool does not hold the loop while
   * thousands of sockets open (or, refused at once, close).
   */
  async probeOnce(backends: readonly Backend[] = this.#backends): Promise<void> {
    const probes: Promise<void>[] = [];
    for (let i = 0; i < backends.length; i++) {
      // Measured (examples/bench/reload-stall.ts, 10,000 refused backends): longest start-up stall ~650–980 → ~190–350 ms.
      if (i > 0 && i % PROBE_BATCH === 0) await nextTurn();
      probes.push(this.#probeOne(backends[i] as Backend));
    }
    await Promise.all(probes);
  }

  /** start schedules the periodic probes; call after the first probeOnce. */
  start(): void {
    for (const b of this.#backends) this.#schedule(b);
  }

  /** stop aborts probes in flight and clears every timer. */
  stop(): void {
    this.#stopped = true;
    for (const ac of this.#inFlight) ac.abort();
    this.#inFlight.clear();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #schedule(b: Backend): void {
    if (this.#stopped) return;
    const jitter = 1 - this.#random() * 0.1;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      void this.#probeOne(b).finally(() => this.#schedule(b));
    }, Math.max(1, Math.round(this.#cfg.intervalMs * jitter)));
    t.unref();
    this.#timers.add(t);
  }

  async #probeOne(b: Backend): Promise<void> {
    if (this.#stopped) return;
    const ac = new AbortController();
    this.#inFlight.add(ac);
    let r: ProbeResult;
    try {
      r = await this.#probe(b, ac.signal);
    } catch (err) {
      r = { ok: false, reason: `probe error: ${(err as Error).message}`, ms: 0 };
    }
    this.#inFlight.delete(ac);
    if (this.#stopped) return;
    try {
      this.#sink.reportProbe(b, r.ok, r.reason, r.ms);
    } catch (err) {
      this.#log.error(`health sink failed for ${b.url}: ${(err as Error).message}`);
    }
  }
}

/** healthSettingsFrom picks a config's healthCheck values for the scheduler. */
export function healthSettingsFrom(cfg: { healthCheck: { interval: number; timeout: number; path?: string | undefined; expectStatus: StatusRanges } }): HealthSettings {
  const h = cfg.healthCheck;
  return { intervalMs: h.interval, timeoutMs: h.timeout, path: h.path, expectStatus: h.expectStatus };
}
