import { once } from "node:events";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { compressionOf, createDecompressor } from "../../../distros/packages/decompress.ts";
import { FormatError, ToolError } from "../../../archive/errors.ts";
import { childCommands } from "../../helpers/child-processes.ts";

const context = { package: "test.deb" };
// 6 MiB that compress well but not to nothing: a counter as text.
const original = Buffer.from(Array.from({ length: 700_000 }, (_, index) => `${index}\n`).join(""));
const compressed: Record<string, Buffer> = {};

async function compress(command: string, args: string[]): Promise<Buffer> {
  const { stdout } = await execa(command, args, { input: original, encoding: "buffer" });
  return Buffer.from(stdout);
}

async function decode(name: string, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
    createDecompressor(name, context),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

function corrupt(data: Buffer, from: number, length: number): Buffer {
  const copy = Buffer.from(data);
  for (let index = from; index < from + length; index++) copy[index] = (copy[index] ?? 0) ^ 0x5a;
  return copy;
}

beforeAll(async () => {
  compressed.xz = await compress("xz", ["-c", "-T2", "--block-size=1MiB"]);
  compressed.zst = await compress("zstd", ["-c", "-q"]);
  compressed.gz = await compress("gzip", ["-c"]);
  compressed.bz2 = await compress("bzip2", ["-c"]);
});

describe("compressionOf", () => {
  it("picks the decoder from the member's suffix", () => {
    expect(compressionOf("data.tar.xz", context)).toBe("xz");
    expect(compressionOf("data.tar.zst", context)).toBe("zstd");
    expect(compressionOf("data.tar.gz", context)).toBe("gzip");
    expect(compressionOf("data.tar.bz2", context)).toBe("bzip2");
    expect(compressionOf("data.tar", context)).toBe("none");
  });

  it("refuses a compression it cannot read, naming the member", () => {
    expect(() => compressionOf("data.tar.lz4", context)).toThrow(FormatError);
    expect(() => compressionOf("data.tar.lz4", context)).toThrow(/data.tar.lz4: unsupported compression/);
  });
});

describe("createDecompressor", () => {
  it.each([
    ["data.tar.xz", "xz"],
    ["data.tar.zst", "zst"],
    ["data.tar.gz", "gz"],
    ["data.tar.bz2", "bz2"],
  ])("decodes %s made by the real tool", async (name, key) => {
    expect((await decode(name, compressed[key] as Buffer)).equals(original)).toBe(true);
  });

  it("passes an uncompressed data.tar through", async () => {
    expect((await decode("data.tar", original)).equals(original)).toBe(true);
  });

  it("reports corrupt xz data as a FormatError carrying xz's own words", async () => {
    const error = await decode("data.tar.xz", corrupt(compressed.xz as Buffer, 200, 64)).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).message).toMatch(
      /^data.tar.xz is not valid xz data: xz: \(stdin\): Compressed data is corrupt$/,
    );
    expect((error as FormatError).package).toBe("test.deb");
  });

  it("reports an xz stream cut short as a FormatError", async () => {
    const xz = compressed.xz as Buffer;
    await expect(decode("data.tar.xz", xz.subarray(0, xz.length / 2))).rejects.toThrow(
      /data.tar.xz is not valid xz data: xz: \(stdin\): Unexpected end of input/,
    );
  });

  it("reports bytes that are not xz at all as a FormatError", async () => {
    await expect(decode("data.tar.xz", original)).rejects.toThrow(
      /not valid xz data: xz: \(stdin\): File format not recognized/,
    );
  });

  it("reports corrupt zstd and gzip data as FormatErrors", async () => {
    await expect(decode("data.tar.zst", corrupt(compressed.zst as Buffer, 100, 64))).rejects.toThrow(
      /^data.tar.zst is not valid zstd data: /,
    );
    const gz = compressed.gz as Buffer;
    await expect(decode("data.tar.gz", gz.subarray(0, gz.length - 100))).rejects.toThrow(
      /^data.tar.gz is not valid gzip data: unexpected end of file/,
    );
  });

  it("reports corrupt or truncated bzip2 data as a FormatError carrying bzip2's own words", async () => {
    const bz2 = compressed.bz2 as Buffer;
    await expect(decode("data.tar.bz2", bz2.subarray(0, bz2.length / 2))).rejects.toThrow(
      /^data.tar.bz2 is not valid bzip2 data: /,
    );
    await expect(decode("data.tar.bz2", original)).rejects.toThrow(
      /^data.tar.bz2 is not valid bzip2 data: .*not a bzip2 file/,
    );
  });

  it("kills xz and waits for it when the consumer stops early", async () => {
    const decompressor = createDecompressor("data.tar.xz", context);
    decompressor.write(compressed.xz);
    // Wait for the first decoded bytes: xz is running and blocked on a full pipe.
    await once(decompressor, "readable");
    expect(await childCommands()).toContain("xz");
    decompressor.destroy();
    await once(decompressor, "close");
    expect(await childCommands()).not.toContain("xz");
  });

  it("reports xz failing for its own reason (a memory limit) as a ToolError that says what it was decoding", async () => {
    const decompressor = createWithEnvironment("XZ_DEFAULTS", "--memlimit-decompress=1");
    decompressor.end(compressed.xz);
    decompressor.resume();
    const [error] = (await once(decompressor, "error").catch((caught: unknown) => [caught])) as [unknown];
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).message).toMatch(
      /^xz: exited with 1 decoding data\.tar\.xz: .*Memory usage limit reached/,
    );
    expect((error as ToolError).package).toBe("test.deb");
    expect((error as ToolError).exitCode).toBe(1);
  });

  it("reports a missing xz as a ToolError naming the tool", async () => {
    const decompressor = createWithEnvironment("PATH", "/nonexistent");
    decompressor.end(compressed.xz);
    decompressor.resume();
    const [error] = (await once(decompressor, "error").catch((caught: unknown) => [caught])) as [unknown];
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).message).toMatch(/^xz: cannot run: spawn xz ENOENT/);
    expect((error as ToolError).hint).toBe("install xz");
  });
});

// The xz child takes the environment as it is when the decompressor starts it; restored at once,
// so no other test sees the change.
function createWithEnvironment(name: string, value: string) {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return createDecompressor("data.tar.xz", context);
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
