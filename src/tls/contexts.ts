/**
 * The serving side of TLS: a CertBundle (plain data, the checked PEM pairs
 * and their names) turned into secure contexts that a listener serves. One
 * SniContexts per listener process: the daemon's with one process, each
 * worker's with workers (the primary sends it every bundle). apply() swaps
 * the contexts by one assignment: a new handshake gets the new certificate,
 * an open connection keeps the session it has.
 */
import type https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { PemPair } from './certificate.js';
import { pickByName } from './names.js';

/** CertBundle is every certificate a listener serves, checked, as plain data (sent to workers as is). */
export interface CertBundle {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** pairs in config order; the first is the default (tls.cert/key when set, else certificates[0]). */
  pairs: Array<PemPair & { names: string[] }>;
}

interface Served {
  names: string[];
  context: SecureContext;
}

/** SniContexts picks a certificate per handshake: by SNI against each certificate's names, else the default. */
export class SniContexts {
  #served: Served[] = [];
  #bundle: CertBundle;
  #server: https.Server | undefined;

  constructor(bundle: CertBundle) {
    this.#bundle = bundle;
    this.#served = SniContexts.#build(bundle);
  }

  static #build(b: CertBundle): Served[] {
    return b.pairs.map((p) => ({ names: p.names, context: createSecureContext({ cert: p.cert, key: p.key, minVersion: b.minVersion }) }));
  }

  /** serverOptions are the https.createServer options that serve these contexts. */
  serverOptions(): https.ServerOptions {
    const d = this.#bundle.pairs[0];
    return {
      cert: d?.cert,
      key: d?.key,
      minVersion: this.#bundle.minVersion,
      SNICallback: (servername, cb) => {
        const served = this.#served;
        const i = pickByName(served, servername);
        cb(null, (served[i] ?? served[0])?.context);
      },
    };
  }

  /** attach remembers the listener whose default context apply() replaces (clients without SNI). */
  attach(server: https.Server): void {
    this.#server = server;
  }

  /** apply serves `bundle` from the next handshake on. Throws (serving nothing new) if Node refuses a pair. */
  apply(bundle: CertBundle): void {
    const served = SniContexts.#build(bundle);
    const d = bundle.pairs[0];
    if (d) this.#server?.setSecureContext({ cert: d.cert, key: d.key, minVersion: bundle.minVersion });
    this.#served = served;
    this.#bundle = bundle;
  }
}
