/**
 * ReopenableFile is an append-only file stream that can be reopened (after
 * logrotate renamed the file, on SIGUSR1) without losing lines: writes go to
 * the current fs.WriteStream; reopen() ends it and opens the path again.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { Writable } from 'node:stream';

/** ReopenableFile is a Writable over a file path that survives log rotation. */
export class ReopenableFile extends Writable {
  readonly path: string;
  #file: WriteStream;

  constructor(path: string) {
    super();
    this.path = path;
    this.#file = this.#open();
  }

  #open(): WriteStream {
    // 0640: logs hold client addresses and paths; not for every local user.
    const f = createWriteStream(this.path, { flags: 'a', mode: 0o640 });
    f.on('error', () => {}); // a write error must not crash the daemon; the next reopen may heal it
    return f;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#file.write(chunk)) cb();
    else this.#file.once('drain', () => cb());
  }

  /** reopen closes the current file and opens the path anew. */
  reopen(): void {
    const old = this.#file;
    this.#file = this.#open();
    old.end();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#file.end(() => cb());
  }
}
