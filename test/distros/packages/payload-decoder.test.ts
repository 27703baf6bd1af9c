// A payload decoded only as far as its consumer reads: the decoder (a real xz child) is stopped
// and waited for once the consumer is done, and a payload decoding past its bound is refused.
import { Readable } from "node:stream";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { FormatError } from "../../../archive/errors.ts";
import { createDecompressor } from "../../../distros/packages/decompress.ts";
import { decodePayload, maxVmlinuxBytes, payloadLimit } from "../../../distros/packages/payload-decoder.ts";
import { patterned } from "../../fixtures/patterned-bytes.ts";
import { childCommands } from "../../helpers/child-processes.ts";
import { rejection } from "../../helpers/rejection.ts";

const context = { package: "linux-image-dbg.deb" };
// 24 MiB that xz shrinks a lot: a payload whose decoding takes long enough to be stopped midway.
const original = patterned(24 * 1024 * 1024, 5);
let xz: Buffer;

beforeAll(async () => {
  const { stdout } = await execa("xz", ["-c", "-1", "-T1"], { input: original, encoding: "buffer" });
  xz = Buffer.from(stdout);
});

// Reads the first `bytes` of the decoded stream, then stops.
const readFirst = (bytes: number) => async (decoded: Readable) => {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of decoded) {
    parts.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= bytes) break;
  }
  return Buffer.concat(parts).subarray(0, bytes);
};

describe("decodePayload", () => {
  it("decodes the whole payload for a consumer that reads to the end, counting every byte", async () => {
    const { result, payloadBytes } = await decodePayload(
      Readable.from([xz]),
      createDecompressor("data.tar.xz", context),
      undefined,
      readFirst(Number.MAX_SAFE_INTEGER),
    );
    expect(result.equals(original)).toBe(true);
    expect(payloadBytes).toBe(original.length);
  });

  it("stops xz once the consumer has what it needs, and returns only when the child is gone", async () => {
    const { result, payloadBytes } = await decodePayload(
      Readable.from([xz]),
      createDecompressor("data.tar.xz", context),
      undefined,
      readFirst(1024 * 1024),
    );
    expect(result.equals(original.subarray(0, 1024 * 1024))).toBe(true);
    expect(payloadBytes).toBeLessThan(original.length);
    expect(await childCommands()).not.toContain("xz");
  });

  it("refuses a payload that decodes past its bound as a decompression bomb, naming it and its package", async () => {
    const error = await rejection(
      decodePayload(
        Readable.from([xz]),
        createDecompressor("data.tar.xz", context),
        undefined,
        readFirst(Number.MAX_SAFE_INTEGER),
        { maxBytes: 4 * 1024 * 1024, name: "data.tar.xz", package: context.package },
      ),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe(
      `data.tar.xz decodes to more than ${4 * 1024 * 1024} bytes, past any real kernel package: a decompression bomb or a broken payload`,
    );
    expect((error as FormatError).package).toBe(context.package);
    expect(await childCommands()).not.toContain("xz");
  });

  it("passes the decoder's own failure (corrupt data) to the consumer", async () => {
    const corrupt = Buffer.from(xz);
    for (let index = 100; index < 200; index++) corrupt[index] = corrupt[index]! ^ 0x5a;
    const error = await rejection(
      decodePayload(
        Readable.from([corrupt]),
        createDecompressor("data.tar.xz", context),
        undefined,
        readFirst(Number.MAX_SAFE_INTEGER),
      ),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(/data\.tar\.xz is not valid xz data/);
  });
});

describe("payloadLimit", () => {
  it("allows 64 times the compressed size, and at least 512 MiB for small or unsized payloads", () => {
    expect(payloadLimit(undefined)).toBe(512 * 1024 ** 2);
    expect(payloadLimit(1024)).toBe(512 * 1024 ** 2);
    expect(payloadLimit(318_000_000)).toBe(64 * 318_000_000);
    // Debian's cloud-amd64-dbg payload (318 MB of xz to 1.86 GB of tar) stays well inside.
    expect(payloadLimit(318_000_000)).toBeGreaterThan(1_860_000_000);
    expect(maxVmlinuxBytes).toBe(4 * 1024 ** 3);
  });
});
