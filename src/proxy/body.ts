/**
 * Request bodies and replay. http-proxy-3 pipes `options.buffer || req`
 * into the backend request, consuming it, so every attempt needs a fresh
 * source:
 * - a body whose declared length fits retry.bufferLimit is read into memory
 *   first and replayed from a new Readable per attempt;
 * - any other body streams, but only once the backend socket is connected
 *   (a gate), so a connect failure leaves it unread and still replayable;
 *   once it has flowed it cannot be sent again.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

const noop = () => {};

/** EMPTY_BODY is the body of a request without one. */
export const EMPTY_BODY = Buffer.alloc(0);

/** RequestBody is the body source of one request across its attempts. */
export class RequestBody {
  readonly #req: IncomingMessage;
  #buffered: Buffer | undefined;
  #consumed = false;
  /** #streamed counts the bytes of a streamed body that flowed. */
  #streamed = 0;

  constructor(req: IncomingMessage, buffered?: Buffer) {
    this.#req = req;
    this.#buffered = buffered;
  }

  /**
   * buffered is the whole body when it was read into memory (an empty
   * buffer for a request without one), so an engine can send the bytes
   * themselves; undefined for a body that streams.
   */
  get buffered(): Buffer | undefined {
    return this.#buffered;
  }

  /** bytesIn is the body's size: the buffered bytes, or those of a streamed body that flowed so far. */
  get bytesIn(): number {
    return this.#buffered !== undefined ? this.#buffered.length : this.#streamed;
  }

  /** replayable tells whether the body can still be sent (again) in full. */
  get replayable(): boolean {
    return this.#buffered !== undefined || !this.#consumed;
  }

  /**
   * source returns a fresh stream for one attempt and a `release` function
   * to call once the backend socket is connected: only then does a streamed
   * body start to flow.
   */
  source(): { stream: Readable | undefined; release: () => void } {
    const data = this.#buffered;
    if (data !== undefined) {
      // No body: let http-proxy-3 pipe the (ended) request itself, which ends
      // the backend request at once, on every attempt.
      // A buffered body: a PassThrough ended with it (Readable.from costs an async iterator).
      if (data.length === 0) return { stream: undefined, release: noop };
      return { stream: new PassThrough().end(data) as PassThrough, release: noop };
    }
    const gate = new PassThrough();
    let released = false;
    return {
      stream: gate,
      release: () => {
        if (released) return;
        released = true;
        this.#consumed = true;
        this.#req.on('data', (c: Buffer) => { this.#streamed += c.length; });
        this.#req.pipe(gate);
      },
    };
  }
}

/**
 * hasNoBody tells whether a request carries no body at all (no length, or
 * length 0, and not chunked).
 */
export function hasNoBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return !req.headers['transfer-encoding'] && (len === undefined || len === '0');
}

/**
 * readBody reads a request body into memory when its declared length is at
 * most `limit` bytes; resolves undefined when it is larger or chunked (it
 * will stream), or null when the client went away while we read.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined | null> {
  if (hasNoBody(req)) return EMPTY_BODY;
  const len = Number(req.headers['content-length']);
  if (req.headers['transfer-encoding'] || !Number.isFinite(len) || len > limit) return undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => chunks.push(c);
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
    };
    const onEnd = () => { cleanup(); resolve(Buffer.concat(chunks)); };
    const onGone = () => { cleanup(); resolve(null); };
    const onClose = () => { if (!req.complete) onGone(); };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onClose);
  });
}
