// A repository file's bytes as they download, hashed with the digest the signed repomd.xml names
// and bounded by the size it gives, so a reader can parse while downloading and the result is
// used only once the whole file matched.
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { BtfmillError, FetchError, IntegrityError } from "../../pipeline/errors.ts";
import type { Checksum } from "./repomd.ts";

const hint = "the mirror is mid-sync or corrupt: retry later or use another mirror";

/** When primary.xml (or another file repomd.xml lists) downloads: hashes and bounds it for the reader. */
export class CheckedDownload {
  /** The body's chunks, hashed and counted on the way, whoever pulls them. */
  readonly chunks: AsyncGenerator<Buffer, void, undefined>;
  readonly #hash: Hash;
  readonly #checksum: Checksum;
  readonly #size: number | undefined;
  readonly #url: string;
  bytes = 0;

  constructor(body: AsyncIterable<Buffer>, url: string, checksum: Checksum, size: number | undefined) {
    this.#hash = createHash(checksum.algorithm);
    this.#checksum = checksum;
    this.#size = size;
    this.#url = url;
    this.chunks = this.#read(body);
  }

  /** When the reader is done, or gave up: pulls and hashes the rest of the body. */
  async drain(): Promise<void> {
    let next = await this.chunks.next();
    while (!next.done) next = await this.chunks.next();
  }

  /** When the body is read: IntegrityError unless it is exactly the file repomd.xml names; `cause` is the reader's failure, if any. */
  verify(cause: unknown): void {
    const context = { package: this.#url, hint, ...(cause === undefined ? {} : { cause }) };
    if (this.#size !== undefined && this.bytes !== this.#size) {
      throw new IntegrityError(`${this.#url} is ${this.bytes} bytes, the signed repomd.xml says ${this.#size}`, context);
    }
    const digest = this.#hash.digest("hex");
    if (digest !== this.#checksum.value) {
      throw new IntegrityError(`${this.#url} has ${this.#checksum.algorithm} ${digest}, the signed repomd.xml says ${this.#checksum.value}`, context);
    }
  }

  async *#read(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
    try {
      for await (const chunk of body) {
        this.bytes += chunk.length;
        if (this.#size !== undefined && this.bytes > this.#size) {
          throw new IntegrityError(`${this.#url} runs longer than the ${this.#size} bytes the signed repomd.xml says`, { package: this.#url, hint });
        }
        this.#hash.update(chunk);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof BtfmillError || (error as Error).name === "AbortError") throw error;
      throw new FetchError(`reading ${this.#url} failed after ${this.bytes} bytes: ${(error as Error).message}`, { package: this.#url, cause: error, hint: "retry later" });
    }
  }
}
