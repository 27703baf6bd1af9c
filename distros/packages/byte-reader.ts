// Reads a chunk stream by byte counts (headers of N bytes, members of M bytes) without copying
// chunks it hands on whole. It pulls with next() only and never calls return(): the source
// belongs to whoever opened it, who may keep reading after the archive (to hash the rest).

const empty = Buffer.alloc(0);

export class ByteReader {
  readonly #chunks: AsyncIterator<Buffer>;
  #pending: Buffer = empty;
  #ended = false;
  /** Bytes handed out or skipped so far: the offset of the next byte. */
  position = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  /** When the next bytes are wanted in whatever size they arrive: at most `max`, empty at the end. */
  async readUpTo(max: number): Promise<Buffer> {
    if (this.#pending.length === 0 && !(await this.#fill())) return empty;
    const chunk = this.#pending.length <= max ? this.#pending : this.#pending.subarray(0, max);
    this.#pending = this.#pending.subarray(chunk.length);
    this.position += chunk.length;
    return chunk;
  }

  /** When a fixed-size record is read: exactly `size` bytes, or fewer only at the end of the source. */
  async readExactly(size: number): Promise<Buffer> {
    const first = await this.readUpTo(size);
    if (first.length === size || first.length === 0) return first;
    const parts = [first];
    let length = first.length;
    while (length < size) {
      const part = await this.readUpTo(size - length);
      if (part.length === 0) break;
      parts.push(part);
      length += part.length;
    }
    return Buffer.concat(parts, length);
  }

  /** When bytes nobody wants are passed over: returns how many were skipped (fewer at the end). */
  async skip(size: number): Promise<number> {
    let skipped = 0;
    while (skipped < size) {
      const part = await this.readUpTo(size - skipped);
      if (part.length === 0) break;
      skipped += part.length;
    }
    return skipped;
  }

  /**
   * When the rest of the source is handed on as a stream (an rpm's payload): yields what is left
   * in chunks of at most `max`. Stopping it leaves the source open, as every read here does.
   */
  async *rest(max: number): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const chunk = await this.readUpTo(max);
      if (chunk.length === 0) return;
      yield chunk;
    }
  }

  async #fill(): Promise<boolean> {
    while (!this.#ended) {
      const result = await this.#chunks.next();
      if (result.done) {
        this.#ended = true;
        return false;
      }
      if (result.value.length > 0) {
        this.#pending = result.value;
        return true;
      }
    }
    return false;
  }
}
