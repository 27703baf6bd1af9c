// The decompressor for a package member, chosen by its suffix (`data.tar.xz` -> xz).
//
// Chosen by measurement: test/bench/one-kernel.ts without --quick decodes a whole payload with
// each candidate (its figures: docs/performance.md, item 1).
// - xz: an `xz -dc -T2` child. Two blocks of Debian's multi-block streams decode at once, which
//   also brings the vmlinux out sooner; node has no xz decoder, and the wasm one of the npm
//   package xz-decompress is slower than -T1 and would be a new dependency.
// - zstd (Ubuntu's payloads): node's zlib.createZstdDecompress. It takes about the wall time of
//   `zstd -dc` with less CPU, and kernels convert side by side where CPU is the bound; it needs no
//   zstd binary and no child to reap.
// - gzip: node's zlib (older packages only).
// - bzip2: `bzip2 -dc` as a child, like xz (old rpm payloads and primary.xml.bz2 only; node has
//   no bzip2 decoder).
import type { Duplex, Transform } from "node:stream";
import { PassThrough } from "node:stream";
import { finished } from "node:stream/promises";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { FormatError } from "../../archive/errors.ts";
import { toolFailure } from "../../archive/tools/run-tool.ts";
import { spawnEngine } from "./child-engine.ts";
import type { ChildExit } from "./child-engine.ts";
import { RelayDuplex } from "./relay-duplex.ts";
import type { DecodeEngine } from "./relay-duplex.ts";

export type Compression = "xz" | "zstd" | "gzip" | "bzip2" | "none";

export interface DecompressOptions {
  /** Package name or URL, for error messages. */
  package: string;
  /** Threads for `xz -T`: the default 2 halves the wall time; a run converting several kernels at once may want 1. */
  xzThreads?: number;
}

const suffixes: ReadonlyArray<[string, Compression]> = [
  [".xz", "xz"],
  [".zst", "zstd"],
  [".gz", "gzip"],
  [".bz2", "bzip2"],
];

// zlib's default 16 KiB output chunks cost zstd a third of its speed in per-chunk overhead.
const zlibChunkSize = 256 * 1024;

/** When a member is about to be decoded: its compression, or FormatError for one btfmill cannot read. */
export function compressionOf(memberName: string, context: { package: string }): Compression {
  for (const [suffix, compression] of suffixes) {
    if (memberName.endsWith(suffix)) return compression;
  }
  if (memberName.endsWith(".tar")) return "none";
  throw new FormatError(
    `${memberName}: unsupported compression (btfmill reads .tar, .tar.xz, .tar.zst, .tar.gz, .tar.bz2)`,
    {
      package: context.package,
    },
  );
}

/** When a compressed member is reached: a Duplex from its bytes to the decoded ones. */
export function createDecompressor(memberName: string, options: DecompressOptions): Duplex {
  return createDecoder(compressionOf(memberName, options), memberName, options);
}

/** When a stream's compression is known from elsewhere (an rpm header tag): its decoder; `name` is for messages. */
export function createDecoder(compression: Compression, name: string, options: DecompressOptions): Duplex {
  switch (compression) {
    case "xz":
      return new RelayDuplex(
        spawnEngine("xz", ["-dc", `-T${options.xzThreads ?? 2}`], options, (exit) =>
          classifyExit("xz", name, exit, options),
        ),
      );
    case "bzip2":
      return new RelayDuplex(
        spawnEngine("bzip2", ["-dc"], options, (exit) => classifyExit("bzip2", name, exit, options)),
      );
    case "zstd":
      return new RelayDuplex(zlibEngine(createZstdDecompress({ chunkSize: zlibChunkSize }), "zstd", name, options));
    case "gzip":
      return new RelayDuplex(zlibEngine(createGunzip({ chunkSize: zlibChunkSize }), "gzip", name, options));
    case "none":
      return new PassThrough();
  }
}

// xz exits 1 both for bad data and for its own troubles (memory limit): only the messages that
// speak of the data make a FormatError, the rest stays a tool failure. bzip2 keeps exit code 2
// for a corrupt or truncated input (bzip2(1), RETURN VALUES).
const dataProblem =
  /corrupt|not recognized|unexpected end of input|unsupported options|unsupported type of integrity check/i;

function isDataProblem(tool: string, exit: ChildExit): boolean {
  return tool === "bzip2" ? exit.exitCode === 2 : exit.exitCode === 1 && dataProblem.test(exit.stderrTail);
}

function classifyExit(tool: string, memberName: string, exit: ChildExit, context: { package: string }): Error {
  const lastLine = exit.stderrTail.split("\n").at(-1) ?? "";
  if (isDataProblem(tool, exit)) {
    return new FormatError(`${memberName} is not valid ${tool} data: ${lastLine}`, { package: context.package });
  }
  return toolFailure(
    tool,
    {
      timedOut: false,
      cancelled: false,
      signal: exit.signal ?? undefined,
      exitCode: exit.exitCode ?? undefined,
      stderr: exit.stderrTail,
    },
    { package: context.package, doing: `decoding ${memberName}` },
  );
}

function zlibEngine(stream: Transform, format: string, memberName: string, context: { package: string }): DecodeEngine {
  let stopping = false;
  const done = finished(stream).catch((cause: Error) => {
    if (stopping) return;
    throw new FormatError(`${memberName} is not valid ${format} data: ${cause.message}`, {
      package: context.package,
      cause,
    });
  });
  return {
    input: stream,
    output: stream,
    done,
    async stop() {
      stopping = true;
      stream.destroy();
      await done;
    },
  };
}
