// Decompression of index files (Packages.xz, Packages.gz) whose bytes were already verified,
// with a cap on the output so a hostile or broken index cannot exhaust memory.
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { execa } from "execa";
import { FormatError, ToolError } from "../../pipeline/errors.ts";

export type IndexCompression = "xz" | "gz" | "none";

const gunzipAsync = promisify(gunzip);

/**
 * When a verified index is opened: its decompressed bytes, at most `maxBytes`. `exactBytes`, when
 * the Release lists the plain index's size, lets xz's output go straight into one buffer of that
 * size: Debian's main index is 50 MB, which collected in growing pieces cost twice that at once.
 */
export async function decompressIndex(
  data: Buffer,
  compression: IndexCompression,
  options: { maxBytes: number; exactBytes?: number | undefined; what: string; signal?: AbortSignal | undefined },
): Promise<Buffer> {
  if (compression === "none") return data;
  if (compression === "gz") return gunzipBounded(data, options.maxBytes, options.what);
  return xzBounded(data, Math.min(options.maxBytes, options.exactBytes ?? Infinity), options.exactBytes !== undefined, options.what, options.signal);
}

// Reads a stream into one buffer of `size` bytes (a larger stream is cut there, and `overflow`
// says so), or, for an unknown size, into pieces joined at the end.
async function collect(stream: AsyncIterable<Buffer>, limit: number, preallocate: boolean): Promise<{ bytes: Buffer; overflow: boolean }> {
  const whole = preallocate ? Buffer.allocUnsafe(limit) : undefined;
  const pieces: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    if (length + chunk.length > limit) return { bytes: Buffer.alloc(0), overflow: true };
    if (whole === undefined) pieces.push(chunk);
    else chunk.copy(whole, length);
    length += chunk.length;
  }
  return { bytes: whole === undefined ? Buffer.concat(pieces, length) : whole.subarray(0, length), overflow: false };
}

async function gunzipBounded(data: Buffer, maxBytes: number, what: string): Promise<Buffer> {
  try {
    return await gunzipAsync(data, { maxOutputLength: maxBytes });
  } catch (cause) {
    const tooLarge = (cause as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
    throw new FormatError(tooLarge ? `${what} decompresses to more than ${maxBytes} bytes` : `${what} is not valid gzip: ${(cause as Error).message}`, {
      package: what,
      cause,
      hint: "the index is broken on the mirror: retry later or use another mirror",
    });
  }
}

// xz runs as a child process: node has no xz decoder, and the tool is already a dependency.
async function xzBounded(data: Buffer, maxBytes: number, exact: boolean, what: string, signal: AbortSignal | undefined): Promise<Buffer> {
  const subprocess = execa("xz", ["-dc"], {
    input: data,
    encoding: "buffer",
    buffer: { stdout: false, stderr: true },
    cancelSignal: signal,
    timeout: 300_000,
    reject: false,
  });
  // Reading stops at the bound; xz, left writing to a pipe nobody reads, is ended by the kill.
  let collected: { bytes: Buffer; overflow: boolean } | undefined;
  let readError: unknown;
  try {
    collected = await collect(subprocess.stdout as AsyncIterable<Buffer>, maxBytes, exact);
  } catch (error) {
    readError = error;
  }
  if (collected?.overflow !== false) subprocess.kill();
  const result = await subprocess;
  const overflow = collected?.overflow === true;
  if (overflow) {
    throw new FormatError(`${what} decompresses to more than ${maxBytes} bytes`, {
      package: what,
      hint: "the index is broken on the mirror: retry later or use another mirror",
    });
  }
  const stderrTail = Buffer.from(result.stderr ?? []).toString("utf8").slice(-2000).trim();
  if (result.exitCode === undefined || result.timedOut || result.isCanceled) {
    throw new ToolError("xz", result.shortMessage ?? "failed", {
      package: what,
      stderrTail,
      cause: result.cause,
      hint: result.exitCode === undefined && !result.timedOut && !result.isCanceled ? "install xz-utils" : undefined,
    });
  }
  if (result.exitCode !== 0) {
    throw new FormatError(`${what} is not valid xz: ${stderrTail}`, {
      package: what,
      hint: "the index is broken on the mirror: retry later or use another mirror",
    });
  }
  if (collected === undefined) {
    throw new ToolError("xz", `its output could not be read: ${(readError as Error).message}`, { package: what, stderrTail, cause: readError });
  }
  return collected.bytes;
}
