// One Duplex over a decoding engine (a child process's stdin/stdout, or a zlib stream) that owns
// the engine's end: the engine's own errors come out as the error its `done` chose, and
// destroying the Duplex (a consumer that stopped early, an abort) stops the engine and waits for
// it before `close`, so nothing keeps running after the pipeline says it is over.
import { Duplex } from "node:stream";
import type { Readable, Writable } from "node:stream";

export interface DecodeEngine {
  input: Writable;
  output: Readable;
  /** Settles when the engine ends on its own; rejects with the error to surface. */
  done: Promise<void>;
  /** Stops the engine early; resolves once it has released its process or handle. Idempotent. */
  stop(): Promise<void>;
}

export class RelayDuplex extends Duplex {
  readonly #engine: DecodeEngine;
  #outputEnded = false;
  #engineDone = false;

  constructor(engine: DecodeEngine) {
    // zlib hands out 256 KiB chunks: with the 64 KiB default every chunk would pause the engine.
    super({ readableHighWaterMark: 1024 * 1024 });
    this.#engine = engine;
    // Writes to an engine that quit fail with EPIPE or "write after destroy"; `done` says why it quit.
    engine.input.on("error", () => {});
    engine.output.on("error", () => {});
    engine.output.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) engine.output.pause();
    });
    engine.output.on("end", () => {
      this.#outputEnded = true;
      this.#endIfComplete();
    });
    engine.done.then(
      () => {
        this.#engineDone = true;
        this.#endIfComplete();
      },
      (error: Error) => this.destroy(error),
    );
  }

  override _read(): void {
    this.#engine.output.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A failed write is not reported here: the engine's exit status or error is the real story.
    this.#engine.input.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#engine.input.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#engine.stop().then(
      () => callback(error),
      (stopError: Error) => callback(error ?? stopError),
    );
  }

  // Only a clean exit after all output makes a clean end: output alone may precede a failure.
  #endIfComplete(): void {
    if (this.#outputEnded && this.#engineDone) this.push(null);
  }
}
