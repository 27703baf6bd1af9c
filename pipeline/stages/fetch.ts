// Fetch stage: package URL -> vmlinux on disk, streaming. The HTTP body is hashed as it arrives
// and fed to the package reader, which stops decoding once the vmlinux is written; the rest of
// the body is then only hashed. The vmlinux is renamed into place only after the whole package
// matched the index's size and sha256, so a tampered package never yields an accepted vmlinux.
//
// A body that breaks is resumed with a range request and feeds the same hash and reader, so
// nothing is decoded twice (distros/net/resumable-download.ts). When the server cannot resume,
// the whole attempt starts over from the first byte with a fresh hash, reader and temp file;
// resumes and restarts share one budget of attempts (distros/net/attempts.ts).
//
// The caller may start work on the vmlinux as soon as it is written (`speculative`: pahole, which
// then does not wait for the tail of the package to arrive and be hashed). That work reads the
// unverified temp file; it is aborted when the package fails its check, and its result is
// returned only once the package matched, so nothing built on a tampered package is ever accepted.
//
// A package whose source selects modules (`KernelPackage.modules`) is decoded on past the vmlinux
// to the last selected module's debug file (to the payload's end for "all"); those files go to a
// temp folder renamed to `<destination>.modules/` once the package matched, like the vmlinux.
// Without modules, decoding stops at the vmlinux as before.
//
// With `ownBtf` (kernelsWithBtf "own", no modules), only the vmlinux's `.BTF` section is wanted:
// a package that places it early (System.map ahead of the vmlinux) stops decoding at the
// section's end, and `destination` then holds just the section (`btfOnly`); the download goes on
// to the end all the same, for the sha256 (docs/performance.md).
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { tempPathFor } from "../../archive/atomic-write.ts";
import { packageReader } from "../../distros/packages/index.ts";
import type { ExtractedVmlinux } from "../../distros/packages/vmlinux-request.ts";
import type { ExtractedModule } from "../../distros/packages/module-members.ts";
import type { KernelPackage } from "../../distros/types.ts";
import { FormatError, IntegrityError, VmlinuxNotFoundError } from "../../archive/errors.ts";
import { Attempts } from "../../distros/net/attempts.ts";
import type { HttpOverrides, HttpSettings } from "../../distros/net/http-settings.ts";
import { httpSettings } from "../../distros/net/http-settings.ts";
import { RestartDownload, openResumable } from "../../distros/net/resumable-download.ts";
import type { ResumableDownload } from "../../distros/net/resumable-download.ts";

export type FetchStage = "download" | "extract" | "hash";

export interface FetchProgress {
  downloadedBytes: number;
  totalBytes: number;
  /** `download` before the vmlinux, `extract` while it is written, `hash` for the rest of the package. */
  stage: FetchStage;
}

export interface FetchOptions<T = undefined> {
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
  /** Threads for `xz -T` (default 2); lower it when several kernels are fetched at once. */
  xzThreads?: number;
  /** Timeouts, connections per host and retries, when not the defaults. */
  http?: HttpOverrides;
  /**
   * Work on the unverified vmlinux while the rest of the package is hashed; its signal aborts it
   * if the check fails. With `btfOnly` the file holds just the vmlinux's `.BTF` section.
   */
  speculative?: (vmlinux: string, signal: AbortSignal, btfOnly: boolean) => Promise<T>;
  /** Only the vmlinux's `.BTF` section is needed: stop decoding at its end when the package allows. */
  ownBtf?: boolean;
}

export interface FetchedVmlinux<T = undefined> {
  vmlinuxBytes: number;
  /** `destination` holds only the vmlinux's `.BTF` section (`ownBtf`), not the vmlinux. */
  btfOnly: boolean;
  downloadedBytes: number;
  /** sha256 of the whole package, equal to the index's. */
  sha256: string;
  /** Decoded payload bytes produced before decoding stopped. */
  payloadBytes: number;
  /** HTTP requests it took: 1, plus one per retry, resume or restart. */
  requests: number;
  /** What `speculative` returned, for a package that passed its check. */
  speculative?: T;
  /** The selected modules' debug files, in `<destination>.modules/`, by name. */
  modules: ExtractedModule[];
  /** Selected modules the package does not carry. */
  missingModules: string[];
}

/** Where the fetch stage leaves a kernel's selected modules: beside its vmlinux. */
export function modulesDirFor(destination: string): string {
  return `${destination}.modules`;
}

/** When a planned kernel is processed: downloads its package and leaves the verified vmlinux at `destination`. */
export async function fetchVmlinux<T = undefined>(
  pkg: KernelPackage,
  destination: string,
  options: FetchOptions<T> = {},
): Promise<FetchedVmlinux<T>> {
  const settings = httpSettings(options.http);
  const attempts = new Attempts(settings.retry, options.signal);
  try {
    for (;;) {
      try {
        return await fetchOnce(pkg, destination, options, settings, attempts);
      } catch (error) {
        if (!(error instanceof RestartDownload)) throw error;
        await attempts.retry(error, { wait: false });
      }
    }
  } catch (error) {
    // Whichever stream noticed the abort first, the caller sees the abort, not its echo.
    throw options.signal?.aborted ? options.signal.reason : error;
  }
}

// One pass from the first byte: a fresh hash, reader and temp file.
async function fetchOnce<T>(
  pkg: KernelPackage,
  destination: string,
  options: FetchOptions<T>,
  settings: HttpSettings,
  attempts: Attempts,
): Promise<FetchedVmlinux<T>> {
  const readPackage = packageReader(pkg.format);
  const temp = tempPathFor(destination);
  const modulesTemp = pkg.modules === undefined ? undefined : `${temp}.modules`;
  let resumable: ResumableDownload | undefined;
  let accepted = false;
  try {
    resumable = await openResumable(pkg.url, { size: pkg.size, settings, attempts, signal: options.signal });
    if (resumable.length !== undefined && resumable.length !== pkg.size) {
      throw new IntegrityError(`the server announces ${resumable.length} bytes, the index says ${pkg.size}`, {
        package: pkg.url,
        hint: "the mirror and its index disagree: retry later or use another mirror",
      });
    }
    const download = new HashedDownload(resumable.chunks(), pkg, options.onProgress);
    if (modulesTemp !== undefined) await mkdir(modulesTemp);
    let early: { result: Promise<T>; abort: (reason: unknown) => void } | undefined;
    const startEarly = (btfOnly: boolean) => {
      if (options.speculative !== undefined && early === undefined)
        early = startSpeculative(options.speculative, temp, btfOnly, options.signal);
    };
    let extracted: ExtractedVmlinux | undefined;
    try {
      let failure: unknown;
      try {
        extracted = await readPackage(download.chunks, {
          vmlinuxPath: pkg.vmlinuxPath,
          output: temp,
          package: pkg.url,
          packageSize: pkg.size,
          signal: options.signal,
          xzThreads: options.xzThreads,
          onFound: () => download.enter("extract"),
          ownBtf: options.ownBtf === true && modulesTemp === undefined,
          // With modules to decode after it, the work on the vmlinux need not wait for them.
          ...(modulesTemp === undefined
            ? {}
            : {
                onWritten: () => startEarly(false),
                modules: { kernel: pkg.key.kernel, select: pkg.modules!, dir: modulesTemp },
              }),
        });
      } catch (error) {
        failure = error;
      }
      // When the download itself failed, that is the reason, whatever the reader made of the bytes it missed.
      if (download.failure !== undefined) throw download.failure;
      // Bytes damaged in transit also look like a malformed or vmlinux-less package: the hash decides.
      if (failure !== undefined && !(failure instanceof FormatError || failure instanceof VmlinuxNotFoundError))
        throw failure;
      download.enter("hash");
      if (extracted !== undefined) startEarly(extracted.btfOnly);
      await download.drain();
      download.verify(failure);
      if (extracted === undefined) throw failure;
    } catch (error) {
      // Whatever the work made of a package that failed its check is thrown away with it.
      early?.abort(error);
      await early?.result.catch(() => {});
      throw error;
    }
    const speculative = await early?.result;
    await rename(temp, destination);
    const modulesDir = modulesDirFor(destination);
    if (modulesTemp !== undefined) await rename(modulesTemp, modulesDir);
    accepted = true;
    return {
      vmlinuxBytes: extracted.vmlinuxBytes,
      btfOnly: extracted.btfOnly,
      downloadedBytes: download.bytes,
      sha256: download.sha256,
      payloadBytes: extracted.payloadBytes,
      requests: attempts.made,
      modules: extracted.modules.map((module) => ({ ...module, path: join(modulesDir, basename(module.path)) })),
      missingModules: extracted.missingModules,
      ...(early === undefined ? {} : { speculative }),
    };
  } finally {
    resumable?.close();
    if (!accepted) {
      await rm(temp, { force: true });
      if (modulesTemp !== undefined) await rm(modulesTemp, { recursive: true, force: true });
    }
  }
}

function startSpeculative<T>(
  work: (vmlinux: string, signal: AbortSignal, btfOnly: boolean) => Promise<T>,
  vmlinux: string,
  btfOnly: boolean,
  outer: AbortSignal | undefined,
): { result: Promise<T>; abort: (reason: unknown) => void } {
  const controller = new AbortController();
  const signal = outer === undefined ? controller.signal : AbortSignal.any([outer, controller.signal]);
  const result = work(vmlinux, signal, btfOnly);
  // Awaited once the package is checked; until then a failure must not count as unhandled.
  result.catch(() => {});
  return { result, abort: (reason) => controller.abort(reason) };
}

// The package's bytes as one chunk sequence that hashes and counts them on the way, whoever pulls
// them: the package reader first, then `drain` for whatever it left.
class HashedDownload {
  readonly chunks: AsyncGenerator<Buffer, void, undefined>;
  readonly #hash: Hash = createHash("sha256");
  readonly #pkg: KernelPackage;
  readonly #onProgress: ((progress: FetchProgress) => void) | undefined;
  #stage: FetchStage = "download";
  #digest: string | undefined;
  bytes = 0;

  /** What ended the download early, when something did: a network failure, or more bytes than the index says. */
  failure: unknown;

  constructor(
    source: AsyncIterable<Buffer>,
    pkg: KernelPackage,
    onProgress: ((progress: FetchProgress) => void) | undefined,
  ) {
    this.#pkg = pkg;
    this.#onProgress = onProgress;
    this.chunks = this.#read(source);
  }

  get sha256(): string {
    this.#digest ??= this.#hash.digest("hex");
    return this.#digest;
  }

  enter(stage: FetchStage): void {
    this.#stage = stage;
    this.#report();
  }

  /** When the reader is done: pulls and hashes the rest of the body. */
  async drain(): Promise<void> {
    let next = await this.chunks.next();
    while (!next.done) next = await this.chunks.next();
  }

  /** When the body is read: IntegrityError unless it is exactly the package the index names. */
  verify(readerFailure: unknown): void {
    const pkg = this.#pkg;
    const cause = readerFailure === undefined ? undefined : { cause: readerFailure };
    if (this.bytes !== pkg.size) {
      throw new IntegrityError(`the package is truncated: ${this.bytes} of ${pkg.size} bytes arrived`, {
        package: pkg.url,
        hint: "the mirror served a short file: retry later or use another mirror",
        ...cause,
      });
    }
    if (this.sha256 !== pkg.sha256) {
      throw new IntegrityError(`sha256 of the package is ${this.sha256}, the index says ${pkg.sha256}`, {
        package: pkg.url,
        hint: "the package was altered or the index is stale: refresh the index, or use another mirror",
        ...cause,
      });
    }
  }

  async *#read(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, undefined> {
    const pkg = this.#pkg;
    try {
      for await (const chunk of source) {
        this.bytes += chunk.length;
        if (this.bytes > pkg.size) {
          throw new IntegrityError(`the package is larger than the ${pkg.size} bytes the index says`, {
            package: pkg.url,
          });
        }
        this.#hash.update(chunk);
        this.#report();
        yield chunk;
      }
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  #report(): void {
    this.#onProgress?.({ downloadedBytes: this.bytes, totalBytes: this.#pkg.size, stage: this.#stage });
  }
}
