// A repository file's bytes as they download, hashed with the digest the signed index (repomd.xml,
// an apt Release) names and bounded by the size it gives, so a reader can parse while downloading
// and the result is used only once the whole file matched.
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { BtfmillError, FetchError, FormatError, IntegrityError } from "../../archive/errors.ts";
import type { Checksum } from "./repomd.ts";

const hint = "the mirror is mid-sync or corrupt: retry later or use another mirror";

/** When primary.xml or a Packages index downloads: hashes and bounds it for the reader. */
export class CheckedDownload {
  /** The body's chunks, hashed and counted on the way, whoever pulls them. */
  readonly chunks: AsyncGenerator<Buffer, void, undefined>;
  readonly #hash: Hash;
  readonly #checksum: Checksum;
  readonly #size: number | undefined;
  readonly #url: string;
  readonly #signed: string;
  bytes = 0;
  /** What ended the download early, when something did: a network failure, or more bytes than listed. */
  failure: unknown;

  /** `listedBy` names the signed file that gives `checksum` and `size` (`repomd.xml`, `Release`), for messages. */
  constructor(
    body: AsyncIterable<Buffer>,
    url: string,
    checksum: Checksum,
    size: number | undefined,
    listedBy: string,
  ) {
    this.#hash = createHash(checksum.algorithm);
    this.#checksum = checksum;
    this.#size = size;
    this.#url = url;
    this.#signed = `the signed ${listedBy}`;
    this.chunks = this.#read(body);
  }

  /**
   * When a reader parses the body as it downloads: its result, used only once the whole file
   * matched the signed index. A failed download is the reason over whatever the reader made of
   * the bytes it missed, and a reader's FormatError is an IntegrityError when the checksum says
   * the bytes were damaged in transit.
   */
  async read<T>(reader: (chunks: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
    let result: { value: T } | undefined;
    let failure: unknown;
    // The reader sees the chunks without the generator's return(): a reader that stops early (a
    // `break`, or a throw inside `for await`) must not end the download drain() still has to hash.
    const chunks = this.chunks;
    const unclosable: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
    try {
      result = { value: await reader(unclosable) };
    } catch (error) {
      failure = error;
    }
    if (this.failure !== undefined) throw this.failure;
    if (failure !== undefined && !(failure instanceof FormatError)) throw failure;
    await this.drain();
    this.verify(failure);
    if (result === undefined) throw failure;
    return result.value;
  }

  /** When the reader is done, or gave up: pulls and hashes the rest of the body. */
  async drain(): Promise<void> {
    let next = await this.chunks.next();
    while (!next.done) next = await this.chunks.next();
  }

  /** When the body is read: IntegrityError unless it is exactly the file the signed index names; `cause` is the reader's failure, if any. */
  verify(cause: unknown): void {
    const context = { package: this.#url, hint, ...(cause === undefined ? {} : { cause }) };
    if (this.#size !== undefined && this.bytes !== this.#size) {
      throw new IntegrityError(`${this.#url} is ${this.bytes} bytes, ${this.#signed} says ${this.#size}`, context);
    }
    const digest = this.#hash.digest("hex");
    if (digest !== this.#checksum.value) {
      throw new IntegrityError(
        `${this.#url} has ${this.#checksum.algorithm} ${digest}, ${this.#signed} says ${this.#checksum.value}`,
        context,
      );
    }
  }

  async *#read(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
    try {
      for await (const chunk of body) {
        this.bytes += chunk.length;
        if (this.#size !== undefined && this.bytes > this.#size) {
          throw new IntegrityError(`${this.#url} runs longer than the ${this.#size} bytes ${this.#signed} says`, {
            package: this.#url,
            hint,
          });
        }
        this.#hash.update(chunk);
        yield chunk;
      }
    } catch (error) {
      this.failure =
        error instanceof BtfmillError || (error as Error).name === "AbortError"
          ? error
          : new FetchError(`reading ${this.#url} failed after ${this.bytes} bytes: ${(error as Error).message}`, {
              package: this.#url,
              cause: error,
              hint: "retry later",
            });
      throw this.failure;
    }
  }
}
