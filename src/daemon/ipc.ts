/**
 * The messages between a cluster primary and its workers: plain data only
 * (a config generation, backend states, passive reports, counters), sent
 * over the fork's IPC channel with structured-clone serialisation. A client
 * connection travels as the handle of a `conn` message.
 */
import type { WorkerReport } from '../admin/status.js';
import type { LbConfig } from '../config/schema.js';
import type { StateSnapshot } from '../pool/backend.js';
import type { ListenerOptions } from '../proxy/server.js';
import type { CertBundle } from '../tls/contexts.js';

/** WORKER_ID_ENV names the environment variable a worker learns its id from. */
export const WORKER_ID_ENV = 'YALB_WORKER_ID';
/** WORKER_VIA_ENV carries the daemon's Via pseudonym to a worker. */
export const WORKER_VIA_ENV = 'YALB_WORKER_VIA';

/** GenerationMessage carries one applied config generation and the state of its backends. */
export interface GenerationMessage {
  t: 'generation';
  number: number;
  hash: string;
  config: LbConfig;
  states: StateSnapshot[];
}

/** ToWorker is what the primary sends a worker. */
export type ToWorker =
  /** init: `certs` makes the worker's listener HTTPS (the primary loads and checks them: one source of truth). */
  | { t: 'init'; listener: ListenerOptions | undefined; generation: GenerationMessage; certs?: CertBundle | undefined }
  /** certs: renewed or changed certificates, checked by the primary; served from the next handshake. */
  | { t: 'certs'; certs: CertBundle }
  | GenerationMessage
  | { t: 'state'; states: StateSnapshot[] }
  /** conn: a client connection, as the message's handle; the worker answers `ack` with the same id. */
  | { t: 'conn'; id: number }
  | { t: 'report'; id: number }
  | { t: 'reopen' }
  /**
   * drain: finish and leave. `gentle` (a worker that is no longer wanted,
   * the others keep serving): each client connection is closed after its
   * next response, idle ones only at the deadline. Otherwise (stop): idle
   * connections are closed at once, as with one process.
   */
  | { t: 'drain'; ms: number; gentle?: boolean };

/** ToPrimary is what a worker sends the primary. */
export type ToPrimary =
  /** ready: the worker serves `generation` (sent after init and after every generation). */
  | { t: 'ready'; generation: number }
  | { t: 'ack'; id: number }
  | { t: 'report'; id: number; report: WorkerReport }
  /** outcome / markDown: `pool` names the pool whose passive rules apply (routes: a URL may be in several). */
  | { t: 'outcome'; url: string; ok: boolean; reason: string; pool: string }
  | { t: 'markDown'; url: string; reason: string; pool: string }
  /** log: one operational log line of the worker's, with its facts as fields. */
  | { t: 'log'; level: string; message: string; fields?: Record<string, unknown> };
