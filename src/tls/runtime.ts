/**
 * TlsRuntime: what a daemon (a cluster primary, with workers) runs for
 * `tls:`: the CertificateStore (load, check, watch), the contexts its own
 * listener serves (one process) or the relay of every bundle to the
 * workers, the tls.redirectHttp listener, and the certificate facts for
 * /status and /metrics. The daemon holds one and calls it at start, at each
 * reload and at stop; nothing here is global.
 */
import type http from 'node:http';
import { Gauge, type Registry } from 'prom-client';
import type { LbConfig } from '../config/schema.js';
import { loadBackendTrust } from '../config/backend-tls.js';
import type { Logger } from '../log/logger.js';
import type { ProxyHandler } from '../proxy/handle-request.js';
import { closeGracefully, listen } from '../proxy/server.js';
import { type CertBundle, SniContexts } from './contexts.js';
import { createRedirectListener } from './redirect.js';
import { type CertificateDoc, CertificateStore, checkPairs, terminatesTls } from './store.js';

/** TlsIssue is a problem with the tls: block, on the config key at fault. */
export interface TlsIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * checkTls checks what the schema cannot (the files): each pair readable,
 * parsed, matching, not expired, naming a host; tls.backend.ca readable.
 * Used by `yalb check`, the start and every reload.
 */
export function checkTls(cfg: LbConfig, now = Date.now()): TlsIssue[] {
  const issues: TlsIssue[] = checkPairs(cfg.tls, now);
  try {
    loadBackendTrust(cfg.tls?.backend);
  } catch (err) {
    issues.push({ path: (err as { configPath: string[] }).configPath, message: (err as Error).message });
  }
  return issues;
}

/** RuntimeOptions are what a TlsRuntime is built with. */
export interface RuntimeOptions {
  log: Logger;
  /** broadcast: with workers, each new bundle goes to them (the primary's listener only hands connections on). */
  broadcast?: ((bundle: CertBundle) => void) | undefined;
  /** watch: false = load once, no file watching. */
  watch?: boolean | undefined;
}

/** TlsRuntime is a daemon's TLS: certificates, the redirect listener, their facts. */
export class TlsRuntime {
  readonly #log: Logger;
  readonly #store: CertificateStore | undefined;
  #contexts: SniContexts | undefined;
  #broadcast: ((bundle: CertBundle) => void) | undefined;
  #redirect: http.Server | undefined;
  readonly #terminates: boolean;
  readonly #redirectAt: string;

  private constructor(cfg: LbConfig, opts: RuntimeOptions) {
    this.#log = opts.log;
    this.#terminates = terminatesTls(cfg.tls);
    this.#redirectAt = JSON.stringify(cfg.tls?.redirectHttp ?? null);
    this.#broadcast = opts.broadcast;
    this.#store = this.#terminates
      ? new CertificateStore({ log: opts.log, watch: opts.watch, onChange: (b) => this.#changed(b) })
      : undefined;
  }

  /** start loads and checks every pair (throws with configPath on the first bad one) and starts watching them. */
  static async start(cfg: LbConfig, opts: RuntimeOptions): Promise<TlsRuntime> {
    const rt = new TlsRuntime(cfg, opts);
    if (rt.#store && cfg.tls) {
      await rt.#store.configure(cfg.tls);
      rt.#contexts = opts.broadcast ? undefined : new SniContexts(rt.#store.bundle());
    }
    return rt;
  }

  /** terminates tells whether the listener is HTTPS. */
  get terminates(): boolean {
    return this.#terminates;
  }

  /** contexts are what this process's own listener serves (one process; undefined with workers or without TLS). */
  get contexts(): SniContexts | undefined {
    return this.#contexts;
  }

  /** bundle is what a new worker serves. */
  bundle(): CertBundle | undefined {
    return this.#store?.bundle();
  }

  /** setBroadcast: the workers exist now (they start after the certificates are loaded). */
  setBroadcast(fn: (bundle: CertBundle) => void): void {
    this.#broadcast = fn;
  }

  #changed(b: CertBundle): void {
    if (this.#broadcast) {
      this.#broadcast(b);
      return;
    }
    try {
      this.#contexts?.apply(b);
    } catch (err) {
      this.#log.error(`YALB_ERR_TLS_CERTIFICATE: cannot serve the new certificates (${(err as Error).message}); keeping the old ones`);
    }
  }

  /**
   * vet checks a config about to be applied: turning TLS on or off and
   * moving the redirect listener need a restart; a bad pair or CA file
   * refuses the reload. Throws an error with configPath.
   */
  vet(cfg: LbConfig): void {
    if (terminatesTls(cfg.tls) !== this.#terminates) {
      throw Object.assign(new Error(`turning HTTPS ${this.#terminates ? 'off' : 'on'} needs a restart (yalb stop, then yalb start); keeping the running listener`), { configPath: ['tls'] });
    }
    if (JSON.stringify(cfg.tls?.redirectHttp ?? null) !== this.#redirectAt) {
      throw Object.assign(new Error('changing tls.redirectHttp needs a restart; keeping the running redirect listener'), { configPath: cfg.tls?.redirectHttp ? ['tls', 'redirectHttp'] : ['tls'] });
    }
    const bad = checkTls(cfg)[0];
    if (bad) throw Object.assign(new Error(bad.message), { configPath: bad.path });
  }

  /** committed applies the tls: of a committed config (new pairs, minVersion); a pair that broke meanwhile is logged. */
  async committed(cfg: LbConfig): Promise<void> {
    if (!this.#store || !cfg.tls) return;
    try {
      await this.#store.configure(cfg.tls);
    } catch (err) {
      this.#log.error(`YALB_ERR_TLS_CERTIFICATE: ${(err as Error).message}; keeping the certificates served before`);
    }
  }

  /** reloadCertificates reads every pair again now (SIGHUP). */
  reloadCertificates(): void {
    this.#store?.reloadNow();
  }

  /** openRedirect binds tls.redirectHttp, if set: 308 to HTTPS on `httpsPort()`, ACME challenges to `handler`. */
  async openRedirect(cfg: LbConfig, handler: ProxyHandler, httpsPort: () => number): Promise<void> {
    const at = cfg.tls?.redirectHttp;
    if (!at || !this.#terminates) return;
    const server = createRedirectListener(handler, httpsPort);
    await listen(server, at);
    this.#redirect = server;
  }

  /** redirectAddress is where the redirect listener listens, if it is on. */
  get redirectPort(): number | undefined {
    const a = this.#redirect?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** status is the certificates part of /status. */
  status(): CertificateDoc[] {
    return this.#store?.status() ?? [];
  }

  /**
   * registerMetrics adds yalb_tls_certificate_expiry_timestamp_seconds{name}
   * to `registry`: per certificate name (its first), the soonest expiry of
   * the certificates served under it.
   */
  registerMetrics(registry: Registry): void {
    const store = this.#store;
    if (!store) return;
    new Gauge({ // eslint-disable-line no-new -- registered on `registry`
      name: 'yalb_tls_certificate_expiry_timestamp_seconds',
      help: 'When each served certificate expires (Unix seconds), by its first name; the soonest when several share a name.',
      labelNames: ['name'],
      registers: [registry],
      collect() {
        this.reset();
        const soonest = new Map<string, number>();
        for (const e of store.expiries()) soonest.set(e.name, Math.min(soonest.get(e.name) ?? Infinity, e.notAfter));
        for (const [name, at] of soonest) this.set({ name }, Math.floor(at / 1000));
      },
    });
  }

  /** stop closes the redirect listener (draining its ACME requests briefly) and ends the watches. */
  async stop(): Promise<void> {
    const r = this.#redirect;
    this.#redirect = undefined;
    if (r) await closeGracefully(r, () => 0, 0);
    await this.#store?.stop();
  }
}
