// Decompression of index files (Packages.xz, Packages.gz) whose bytes were already verified,
// with a cap on the output so a hostile or broken index cannot exhaust memory.
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { execa } from "execa";
import { FormatError, ToolError } from "../../pipeline/errors.ts";

export type IndexCompression = "xz" | "gz" | "none";

const gunzipAsync = promisify(gunzip);

/** When a verified index is opened: its decompressed bytes, at most `maxBytes`. */
export async function decompressIndex(
  data: Buffer,
  compression: IndexCompression,
  options: { maxBytes: number; what: string; signal?: AbortSignal | undefined },
): Promise<Buffer> {
  if (compression === "none") return data;
  if (compression === "gz") return gunzipBounded(data, options.maxBytes, options.what);
  return xzBounded(data, options.maxBytes, options.what, options.signal);
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
async function xzBounded(data: Buffer, maxBytes: number, what: string, signal: AbortSignal | undefined): Promise<Buffer> {
  const result = await execa("xz", ["-dc"], {
    input: data,
    encoding: "buffer",
    stripFinalNewline: false,
    maxBuffer: maxBytes,
    cancelSignal: signal,
    timeout: 300_000,
    reject: false,
  });
  if (result.isMaxBuffer) {
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
  return Buffer.from(result.stdout);
}
