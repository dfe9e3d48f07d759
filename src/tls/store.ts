/**
 * CertificateStore: the one source of truth for the certificates a daemon
 * serves (the primary's, with workers). It loads and checks every pair of
 * `tls:`, watches their files like lb.yaml (the same ConfigWatcher: the
 * directories, certbot's live/ → archive/ links, a Kubernetes Secret's
 * ..data swap), reloads a pair when one of its files changes, and hands a
 * new CertBundle to `onChange` only when every check passed: a bad,
 * half-written or mismatched pair keeps the one being served, is logged as
 * an error and is shown in /status. A certificate within 14 days of expiry
 * is logged as a warning once a day.
 */
import type { Logger } from '../log/logger.js';
import type { TlsConfig } from '../config/schema.js';
import { ConfigWatcher } from '../reload/watcher.js';
import { type CertificateFacts, type LoadedPair, loadPair } from './certificate.js';
import type { CertBundle } from './contexts.js';

/** EXPIRY_WARNING_MS: a certificate this close to expiry is logged as a warning (once a day). */
export const EXPIRY_WARNING_MS = 14 * 24 * 3600_000;
const DAY_MS = 24 * 3600_000;

/** CertificateDoc is one certificate in /status. */
export interface CertificateDoc {
  file: string;
  keyFile: string;
  /** default: served to clients whose SNI name matches no certificate (and to those that send none). */
  default: boolean;
  subject: string | null;
  names: string[];
  notAfter: string | null;
  fingerprint: string | null;
  /** lastLoad: the latest load of this pair; when it failed, the pair before it is still served. */
  lastLoad: { ok: boolean; at: string; error?: string };
}

/** PairSpec is one pair of tls: with the config key that names it (for file:line:col). */
export interface PairSpec {
  cert: string;
  key: string;
  configPath: Array<string | number>;
}

/** pairSpecsOf lists the pairs a tls: block serves, the default first. */
export function pairSpecsOf(tls: TlsConfig | undefined): PairSpec[] {
  if (!tls) return [];
  const out: PairSpec[] = [];
  if (tls.cert && tls.key) out.push({ cert: tls.cert, key: tls.key, configPath: ['tls'] });
  (tls.certificates ?? []).forEach((p, i) => out.push({ cert: p.cert, key: p.key, configPath: ['tls', 'certificates', i] }));
  return out;
}

/** terminatesTls tells whether a tls: block makes the listener HTTPS (tls.backend alone does not). */
export function terminatesTls(tls: TlsConfig | undefined): boolean {
  return pairSpecsOf(tls).length > 0;
}

/**
 * checkPairs loads every pair once (yalb check, a reload before it
 * commits): the problems, each on the config key of the file at fault.
 */
export function checkPairs(tls: TlsConfig | undefined, now = Date.now()): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  for (const s of pairSpecsOf(tls)) {
    const r = loadPair(s.cert, s.key, now);
    if (!r.ok) out.push({ path: [...s.configPath, r.file], message: r.error });
  }
  return out;
}

interface Entry {
  spec: PairSpec;
  pair: LoadedPair;
  last: { ok: boolean; at: number; error?: string };
  watchers: ConfigWatcher[];
  timer: NodeJS.Timeout | undefined;
  warnedAt: number;
}

/** StoreOptions are what a store is built with (all passed in). */
export interface StoreOptions {
  log: Logger;
  /** onChange hears every new bundle (after a renewal or a reload that changed the pairs). */
  onChange: (bundle: CertBundle) => void;
  now?: () => number;
  /** watch: false loads once and never watches (tests that do not need it). */
  watch?: boolean;
  /** debounceMs of each file watcher (default 50). */
  debounceMs?: number;
  /** pollMs: the watchers' safety-net stat poll (default 2000). */
  pollMs?: number;
}

/** CertificateStore holds the checked pairs of the config in use and keeps them fresh. */
export class CertificateStore {
  readonly #o: StoreOptions;
  #entries: Entry[] = [];
  #minVersion: CertBundle['minVersion'] = 'TLSv1.2';
  #daily: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: StoreOptions) {
    this.#o = opts;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /**
   * configure loads the pairs of `tls` (a pair whose files are unchanged
   * keeps what it serves) and starts watching them. Throws, changing
   * nothing, if a new pair fails a check; the error carries `configPath`.
   */
  async configure(tls: TlsConfig): Promise<void> {
    const now = this.#now();
    const specs = pairSpecsOf(tls);
    const kept = new Map(this.#entries.map((e) => [`${e.spec.cert}\0${e.spec.key}`, e]));
    const next: Entry[] = [];
    for (const spec of specs) {
      const old = kept.get(`${spec.cert}\0${spec.key}`);
      if (old) {
        kept.delete(`${spec.cert}\0${spec.key}`);
        old.spec = spec;
        next.push(old);
        continue;
      }
      const r = loadPair(spec.cert, spec.key, now);
      if (!r.ok) {
        for (const e of next) if (!this.#entries.includes(e)) await this.#unwatch(e);
        throw Object.assign(new Error(r.error), { configPath: [...spec.configPath, r.file] });
      }
      const e: Entry = { spec, pair: r.pair, last: { ok: true, at: now }, watchers: [], timer: undefined, warnedAt: 0 };
      await this.#watch(e);
      next.push(e);
    }
    for (const e of kept.values()) await this.#unwatch(e);
    const changed = next.length !== this.#entries.length || next.some((e, i) => e !== this.#entries[i]) || tls.minVersion !== this.#minVersion;
    this.#entries = next;
    this.#minVersion = tls.minVersion;
    for (const e of next) this.#warnIfExpiring(e);
    if (!this.#daily && !this.#stopped) {
      this.#daily = setInterval(() => { for (const e of this.#entries) this.#warnIfExpiring(e); }, DAY_MS);
      this.#daily.unref();
    }
    if (changed) this.#o.onChange(this.bundle());
  }

  /** bundle is what the listeners serve now. */
  bundle(): CertBundle {
    return { minVersion: this.#minVersion, pairs: this.#entries.map((e) => ({ cert: e.pair.cert, key: e.pair.key, names: e.pair.facts.names })) };
  }

  /** status is the certificates part of /status. */
  status(): CertificateDoc[] {
    return this.#entries.map((e, i) => {
      const f: CertificateFacts = e.pair.facts;
      return {
        file: e.spec.cert,
        keyFile: e.spec.key,
        default: i === 0,
        subject: f.subject,
        names: f.names,
        notAfter: new Date(f.notAfter).toISOString(),
        fingerprint: f.fingerprint,
        lastLoad: { ok: e.last.ok, at: new Date(e.last.at).toISOString(), ...(e.last.error ? { error: e.last.error } : {}) },
      };
    });
  }

  /** expiries lists each served certificate's first name and expiry (ms), for the metrics. */
  expiries(): Array<{ name: string; notAfter: number }> {
    return this.#entries.map((e) => ({ name: e.pair.facts.names[0] ?? e.spec.cert, notAfter: e.pair.facts.notAfter }));
  }

  /** reloadNow reloads every pair from disk at once (SIGHUP, tests); resolves when done. */
  reloadNow(): void {
    for (const e of this.#entries) this.#reload(e, 'reload');
  }

  /** stop ends every watch and timer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#daily);
    for (const e of this.#entries) await this.#unwatch(e);
  }

  async #watch(e: Entry): Promise<void> {
    if (this.#o.watch === false || this.#stopped) return;
    const files = e.spec.cert === e.spec.key ? [e.spec.cert] : [e.spec.cert, e.spec.key];
    for (const file of files) {
      const w = new ConfigWatcher(file, { log: this.#o.log, debounceMs: this.#o.debounceMs ?? 50, pollMs: this.#o.pollMs ?? 2000 });
      w.on('candidate', (why) => this.#schedule(e, why));
      w.on('missing', () => this.#schedule(e, `${file} is gone`));
      await w.start();
      e.watchers.push(w);
    }
  }

  async #unwatch(e: Entry): Promise<void> {
    clearTimeout(e.timer);
    const ws = e.watchers.splice(0);
    await Promise.all(ws.map((w) => w.stop()));
  }

  /** #schedule reloads a pair shortly after its files change: a renewal that swaps both files is one load. */
  #schedule(e: Entry, why: string): void {
    clearTimeout(e.timer);
    e.timer = setTimeout(() => this.#reload(e, why), 30);
  }

  #reload(e: Entry, why: string): void {
    if (this.#stopped || !this.#entries.includes(e)) return;
    const now = this.#now();
    const r = loadPair(e.spec.cert, e.spec.key, now);
    if (!r.ok) {
      e.last = { ok: false, at: now, error: r.error };
      this.#o.log.error(`YALB_ERR_TLS_CERTIFICATE: ${r.error}; still serving the certificate loaded before (${e.pair.facts.fingerprint.slice(0, 23)}…) [${why}]`);
      return;
    }
    e.last = { ok: true, at: now };
    if (r.pair.cert === e.pair.cert && r.pair.key === e.pair.key) return; // same bytes: nothing to apply
    e.pair = r.pair;
    const f = r.pair.facts;
    this.#o.log.info(`certificate ${e.spec.cert} loaded: ${f.names.join(', ')}, valid until ${new Date(f.notAfter).toISOString()}, sha256 ${f.fingerprint}`);
    e.warnedAt = 0;
    this.#warnIfExpiring(e);
    this.#o.onChange(this.bundle());
  }

  #warnIfExpiring(e: Entry): void {
    const now = this.#now();
    const left = e.pair.facts.notAfter - now;
    if (left > EXPIRY_WARNING_MS || now - e.warnedAt < DAY_MS - 60_000) return;
    e.warnedAt = now;
    this.#o.log.warn(`certificate ${e.spec.cert} (${e.pair.facts.names.join(', ')}) expires in ${Math.max(0, Math.floor(left / 3600_000))} h, on ${new Date(e.pair.facts.notAfter).toISOString()}: renew it (yalb serves a renewed file without a reload)`);
  }
}
