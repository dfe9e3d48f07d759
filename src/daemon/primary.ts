/**
 * The cluster primary's workers (`workers:` > 1). The primary keeps
 * everything that must be one: the config file, the reloader, the probes and
 * the backends' health, the admin API and the listeners. It forks N worker
 * processes (daemon/worker-main.ts) that serve the proxy, and:
 * - accepts client connections itself and hands each to a worker, round
 *   robin over the workers that are ready. A connection stays the primary's
 *   until the worker acknowledges it: if the worker dies first, the same
 *   connection goes to another worker instead of being lost. (node:cluster's
 *   own round-robin hand-off keeps no such guard: a worker killed between
 *   the hand-off and its acceptance leaves the client hanging. It also
 *   configures process-wide state, cluster.setupPrimary, where yalb passes
 *   everything in.)
 * - sends every applied generation and every health change to every worker;
 * - hears passive results from the workers and decides for all;
 * - replaces a worker that dies, with a growing back-off when it keeps dying
 *   at start-up, and logs it loudly;
 * - drains every worker on stop. A worker whose primary is gone (even by
 *   kill -9) sees its IPC channel close and exits after its own drain.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { WorkerReport } from '../admin/status.js';
import { YalbError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { StateSnapshot } from '../pool/backend.js';
import type { ListenerOptions } from '../proxy/server.js';
import type { CertBundle } from '../tls/contexts.js';
import { type GenerationMessage, type ToPrimary, type ToWorker, WORKER_ID_ENV, WORKER_VIA_ENV } from './ipc.js';

/** WorkerSetOptions: what the primary's workers are started with (all passed in). */
export interface WorkerSetOptions {
  count: number;
  /** via: the daemon's Via pseudonym, the same in every worker (loop detection). */
  via: string;
  log: Logger;
  listener: ListenerOptions | undefined;
  /** generation is the serving generation, as a new worker receives it. */
  generation(): GenerationMessage;
  /** certs: the certificates a new worker serves (absent: a plain HTTP listener). */
  certs?(): CertBundle | undefined;
  /** outcome / markDown: passive results a worker saw (the primary applies them to its pool). */
  outcome(url: string, ok: boolean, reason: string, pool: string): void;
  markDown(url: string, reason: string, pool: string): void;
  /** exited hears a worker's id once it has exited (the primary folds its last counts into a retired total). */
  exited?(id: number): void;
  /** entry: the worker's entry module (default: worker-main next to this file). */
  entry?: string;
  /** startTimeoutMs bounds the wait for a worker's first `ready` (default 30 s). */
  startTimeoutMs?: number;
}

interface WorkerHandle {
  id: number;
  child: ChildProcess;
  startedAt: number;
  ready: boolean;
  /** leaving: asked to drain (scale down or stop): takes no new connections. */
  leaving: boolean;
  /** pending: connections sent and not yet acknowledged, by hand-off id. */
  pending: Map<number, Socket>;
}

/** A worker that exits within this time of its start counts as a start-up crash (back-off grows). */
const EARLY_EXIT_MS = 10_000;
/** Connections wait at most this long for a worker when none is ready (all restarting). */
const QUEUE_WAIT_MS = 10_000;
const QUEUE_MAX = 4096;

function defaultEntry(): string {
  // Beside this file, in the same form (dist/*.js, or src/*.ts under tsx).
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./worker-main.${ext}`, import.meta.url));
}

/** WorkerSet forks, feeds, replaces and drains the primary's workers. */
export class WorkerSet {
  readonly #o: WorkerSetOptions;
  readonly #workers = new Map<number, WorkerHandle>();
  #count: number;
  #nextId = 1;
  #rr = 0;
  #handoffs = 0;
  #reports = 0;
  readonly #reportWaits = new Map<number, (r: WorkerReport) => void>();
  /** #queue holds connections accepted while no worker was ready, oldest first. */
  readonly #queue: Array<{ socket: Socket; until: number }> = [];
  #queueTimer: NodeJS.Timeout | undefined;
  #crashes = 0;
  #stopping = false;
  readonly #restarts = new Set<NodeJS.Timeout>();

  constructor(o: WorkerSetOptions) {
    this.#o = o;
    this.#count = o.count;
  }

  /** size is the number of workers wanted. */
  get size(): number {
    return this.#count;
  }

  /** start forks the workers and resolves once each serves the current generation; throws YALB_ERR_WORKER if one cannot start. */
  async start(): Promise<void> {
    const started = [];
    for (let i = 0; i < this.#count; i++) started.push(this.#ready(this.#fork()));
    await Promise.all(started);
  }

  #fork(): WorkerHandle {
    const id = this.#nextId++;
    const child = fork(this.#o.entry ?? defaultEntry(), [], {
      env: { ...process.env, [WORKER_ID_ENV]: String(id), [WORKER_VIA_ENV]: this.#o.via },
      execArgv: process.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const w: WorkerHandle = { id, child, startedAt: Date.now(), ready: false, leaving: false, pending: new Map() };
    this.#workers.set(id, w);
    child.on('message', (m: ToPrimary) => this.#onMessage(w, m));
    child.on('error', (err) => this.#o.log.error(`worker ${id}: ${err.message}`));
    child.once('exit', (code, signal) => this.#exited(w, code, signal));
    this.#send(w, { t: 'init', listener: this.#o.listener, generation: this.#o.generation(), certs: this.#o.certs?.() });
    return w;
  }

  /** #ready resolves when `w` has answered its first generation; rejects if it exits first or takes too long. */
  #ready(w: WorkerHandle): Promise<void> {
    return new Promise((resolve, reject) => {
      const ms = this.#o.startTimeoutMs ?? 30_000;
      const timer = setTimeout(() => fail(`did not start within ${ms / 1000}s`), ms);
      const onMsg = (m: ToPrimary) => {
        if (m.t !== 'ready') return;
        done();
        resolve();
      };
      const onExit = (code: number | null, signal: string | null) => fail(`exited at start-up (${signal ?? `code ${code}`})`);
      const done = () => {
        clearTimeout(timer);
        w.child.off('message', onMsg);
        w.child.off('exit', onExit);
      };
      const fail = (why: string) => {
        done();
        // A worker that never got ready must not hold its slot: kill it, #exited replaces it.
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        reject(new YalbError('YALB_ERR_WORKER', `worker ${w.id} ${why}`));
      };
      w.child.on('message', onMsg);
      w.child.once('exit', onExit);
    });
  }

  #send(w: WorkerHandle, msg: ToWorker, handle?: Socket): boolean {
    if (!w.child.connected) return false;
    try {
      if (handle) {
        w.child.send(msg, handle, { keepOpen: true }, (err) => {
          if (err) this.#requeue(w, msg.t === 'conn' ? msg.id : -1);
        });
      } else {
        w.child.send(msg);
      }
      return true;
    } catch {
      return false;
    }
  }

  #onMessage(w: WorkerHandle, m: ToPrimary): void {
    switch (m.t) {
      case 'ready':
        if (!w.ready) {
          w.ready = true;
          this.#drainQueue();
        }
        return;
      case 'ack': {
        const s = w.pending.get(m.id);
        w.pending.delete(m.id);
        // The worker holds its own descriptor now: close the primary's copy.
        s?.destroy();
        return;
      }
      case 'report':
        this.#reportWaits.get(m.id)?.(m.report);
        return;
      case 'outcome':
        this.#o.outcome(m.url, m.ok, m.reason, m.pool);
        return;
      case 'markDown':
        this.#o.markDown(m.url, m.reason, m.pool);
        return;
      case 'log': {
        const level = ['error', 'warn', 'info', 'debug'].includes(m.level) ? m.level : 'info';
        this.#o.log.log(level, `worker ${w.id}: ${m.message}`, { ...m.fields, worker: w.id });
        return;
      }
    }
  }

  /**
   * dispatch hands a client connection (accepted paused by the primary's
   * listener) to the next ready worker, round robin; it waits in a bounded
   * queue while no worker is ready.
   */
  dispatch(socket: Socket): void {
    const w = this.#pick();
    if (!w) {
      if (this.#stopping || this.#queue.length >= QUEUE_MAX) {
        socket.destroy();
        return;
      }
      this.#queue.push({ socket, until: Date.now() + QUEUE_WAIT_MS });
      this.#queueTimer ??= setInterval(() => this.#drainQueue(), 250);
      return;
    }
    const id = ++this.#handoffs;
    // Detach the socket from its server before sending it: child_process
    // would otherwise make server.close() wait for a close notice from every
    // worker that ever got a socket, which a dead worker never sends and a
    // draining one sends only after its drain (started once the listener has
    // closed). The primary's own copy still counts until it is destroyed.
    (socket as Socket & { server: unknown }).server = null;
    w.pending.set(id, socket);
    if (!this.#send(w, { t: 'conn', id }, socket)) this.#requeue(w, id);
  }

  #pick(): WorkerHandle | undefined {
    const ready = [...this.#workers.values()].filter((w) => w.ready && !w.leaving && w.child.connected);
    if (ready.length === 0) return undefined;
    this.#rr = (this.#rr + 1) % ready.length;
    return ready[this.#rr];
  }

  /** #requeue takes back a connection a worker did not acknowledge and dispatches it again. */
  #requeue(w: WorkerHandle, id: number): void {
    const s = w.pending.get(id);
    if (!s) return;
    w.pending.delete(id);
    if (s.destroyed) return;
    this.dispatch(s);
  }

  #drainQueue(): void {
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as { socket: Socket; until: number };
      if (head.until < now || head.socket.destroyed) {
        this.#queue.shift();
        head.socket.destroy();
        continue;
      }
      if (!this.#pick()) break;
      this.#queue.shift();
      this.dispatch(head.socket);
    }
    if (this.#queue.length === 0 && this.#queueTimer) {
      clearInterval(this.#queueTimer);
      this.#queueTimer = undefined;
    }
  }

  #exited(w: WorkerHandle, code: number | null, signal: string | null): void {
    this.#workers.delete(w.id);
    this.#o.exited?.(w.id);
    // Connections it had not acknowledged are still open here: give them to another worker.
    for (const id of [...w.pending.keys()]) this.#requeue(w, id);
    if (this.#stopping || w.leaving) return;
    const how = signal ?? `code ${code}`;
    const early = Date.now() - w.startedAt < EARLY_EXIT_MS;
    this.#crashes = early ? this.#crashes + 1 : 0;
    const delay = this.#crashes <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (this.#crashes - 2));
    if (this.#crashes > 1) {
      this.#o.log.error(`worker ${w.id} (pid ${w.child.pid}) died (${how}) ${this.#crashes} times in a row at start-up; next try in ${delay / 1000}s`);
    } else {
      this.#o.log.error(`worker ${w.id} (pid ${w.child.pid}) died (${how}); starting a replacement, the other workers keep serving`);
    }
    this.#restart(delay);
  }

  #restart(delay: number): void {
    const t = setTimeout(() => {
      this.#restarts.delete(t);
      if (this.#stopping || this.#liveCount() >= this.#count) return;
      const w = this.#fork();
      this.#ready(w).then(
        () => this.#o.log.info(`worker ${w.id} (pid ${w.child.pid}) serving`),
        (err: Error) => this.#o.log.error(err.message),
      );
    }, delay);
    this.#restarts.add(t);
  }

  #liveCount(): number {
    let n = 0;
    for (const w of this.#workers.values()) if (!w.leaving) n++;
    return n;
  }

  /** broadcastGeneration sends a committed generation to every worker. */
  broadcastGeneration(g: GenerationMessage): void {
    for (const w of this.#workers.values()) this.#send(w, g);
  }

  /** broadcastCerts sends renewed certificates to every worker. */
  broadcastCerts(certs: CertBundle): void {
    for (const w of this.#workers.values()) this.#send(w, { t: 'certs', certs });
  }

  /** broadcastStates sends backend states decided here (probes, ejections) to every worker. */
  broadcastStates(states: StateSnapshot[]): void {
    if (states.length === 0) return;
    for (const w of this.#workers.values()) this.#send(w, { t: 'state', states });
  }

  /** reopen asks every worker to reopen its access log file (SIGUSR1). */
  reopen(): void {
    for (const w of this.#workers.values()) this.#send(w, { t: 'reopen' });
  }

  /**
   * resize changes the number of workers (a reload of `workers:`): new ones
   * are forked and must be ready before any extra one is asked to drain.
   */
  async resize(count: number, drainMs: number): Promise<void> {
    const before = this.#count;
    this.#count = count;
    if (count > before) {
      const fresh = [];
      for (let i = this.#liveCount(); i < count; i++) fresh.push(this.#ready(this.#fork()));
      await Promise.all(fresh);
    } else if (count < before) {
      const extra = [...this.#workers.values()].filter((w) => !w.leaving).slice(count);
      for (const w of extra) {
        w.leaving = true;
        this.#send(w, { t: 'drain', ms: drainMs, gentle: true });
      }
    }
    this.#o.log.info(`workers: ${before} → ${count}`);
  }

  /** collect asks every worker for its report; one that does not answer within `ms` is left out. */
  async collect(ms = 1000): Promise<WorkerReport[]> {
    const asks = [...this.#workers.values()].filter((w) => w.ready).map((w) => new Promise<WorkerReport | undefined>((resolve) => {
      const id = ++this.#reports;
      const timer = setTimeout(() => {
        this.#reportWaits.delete(id);
        resolve(undefined);
      }, ms);
      this.#reportWaits.set(id, (r) => {
        clearTimeout(timer);
        this.#reportWaits.delete(id);
        resolve(r);
      });
      if (!this.#send(w, { t: 'report', id })) {
        clearTimeout(timer);
        this.#reportWaits.delete(id);
        resolve(undefined);
      }
    }));
    const got = await Promise.all(asks);
    return got.filter((r): r is WorkerReport => r !== undefined).sort((a, b) => a.id - b.id);
  }

  /**
   * stop drains every worker (each finishes its in-flight requests within
   * drainMs) and resolves when all have exited; a worker still there 5 s
   * after that is killed.
   */
  async stop(drainMs: number): Promise<void> {
    this.#stopping = true;
    for (const t of this.#restarts) clearTimeout(t);
    this.#restarts.clear();
    if (this.#queueTimer) clearInterval(this.#queueTimer);
    for (const q of this.#queue.splice(0)) q.socket.destroy();
    const exits = [...this.#workers.values()].map((w) => new Promise<void>((resolve) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
      w.child.once('exit', () => resolve());
      const kill = setTimeout(() => w.child.kill('SIGKILL'), drainMs + 5_000);
      w.child.once('exit', () => clearTimeout(kill));
      if (!this.#send(w, { t: 'drain', ms: drainMs })) w.child.kill('SIGTERM');
    }));
    await Promise.all(exits);
  }
}
