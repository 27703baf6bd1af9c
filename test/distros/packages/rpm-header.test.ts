// The rpm lead and header structures read from packages rpmbuild made, their tags compared with
// what rpm itself reads from the same file, and each way a package can end or lie refused.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError } from "../../../archive/errors.ts";
import { ByteReader } from "../../../distros/packages/byte-reader.ts";
import { headerString, readHeader, readLead, type RpmContext } from "../../../distros/packages/rpm-header.ts";
import { buildRpm } from "../../fixtures/rpm-repo.ts";
import { rejection } from "../../helpers/rejection.ts";

// rpm's tag numbers (lib/rpmtag.h).
const tags = { name: 1000, version: 1001, release: 1002, arch: 1022, payloadCompressor: 1125, summary: 1004 };

let work: string;
let path: string;
let bytes: Buffer;

// One chunk per `size` bytes, as a network read hands them over.
async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

const context: RpmContext = { package: "kernel-debuginfo.rpm" };

async function readAll(data: Buffer, chunkSize = 4096, extra: Partial<RpmContext> = {}) {
  const reader = new ByteReader(chunked(data, chunkSize));
  await readLead(reader, { ...context, ...extra });
  await readHeader(reader, "signature", { ...context, ...extra });
  const header = await readHeader(reader, "header", { ...context, ...extra });
  return { reader, header };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-rpm-header-"));
  path = await buildRpm(work, {
    name: "kernel-debuginfo",
    version: "4.18.0",
    release: "147.el8",
    arch: "x86_64",
    payload: "zstd",
    files: [{ path: "usr/share/doc/kernel-debuginfo/readme", contents: "hello" }],
  });
  bytes = await readFile(path);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("rpm lead and headers", () => {
  it("reads the main header's tags as rpm itself does, and stops where the payload starts", async () => {
    const { reader, header } = await readAll(bytes, 7);
    const { stdout } = await execa("rpm", [
      "-qp",
      "--qf",
      "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{PAYLOADCOMPRESSOR}",
      path,
    ]);
    const read = (tag: number) => headerString(header, tag, context);
    expect([tags.name, tags.version, tags.release, tags.arch, tags.payloadCompressor].map(read).join("|")).toBe(stdout);
    expect(read(tags.summary)).toBe("btfmill test package");
    // The payload starts right after the header: zstd's frame magic.
    expect((await reader.readExactly(4)).toString("hex")).toBe("28b52ffd");
  });

  it("gives undefined for a tag the header does not carry", async () => {
    const { header } = await readAll(bytes);
    expect(headerString(header, 999_999, context)).toBeUndefined();
  });

  it("refuses a tag that is not a string", async () => {
    const { header } = await readAll(bytes);
    // RPMTAG_SIZE (1009) is an INT32.
    expect(() => headerString(header, 1009, context)).toThrowError(
      /tag 1009 is not a string inside the header's data \(type 4,/,
    );
  });

  it("refuses a file that is not an rpm, saying what it starts with", async () => {
    const error = await rejection(
      readLead(new ByteReader(chunked(Buffer.from("!<arch>\ndebian-binary"), 64)), context),
    );
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe("not an rpm: it starts with 213c6172, not the lead magic edabeedb");
    expect((error as FormatError).package).toBe("kernel-debuginfo.rpm");
    const empty = await rejection(readLead(new ByteReader(chunked(Buffer.alloc(0), 1)), context));
    expect(empty.message).toMatch(/starts with nothing/);
  });

  it("refuses a lead without header-style signatures (format 2 rpms)", async () => {
    const old = Buffer.from(bytes);
    old.writeUInt16BE(1, 78);
    expect((await rejection(readAll(old))).message).toMatch(/^unsupported rpm: format 3\.0 with signature type 1/);
  });

  it("says where the rpm ends when it is cut inside the lead, a header intro or a header's data", async () => {
    for (const [cut, where] of [
      [50, "lead"],
      [100, "signature header"],
      [96 + 16 + 10, "signature header"],
    ] as const) {
      const error = await rejection(readAll(bytes.subarray(0, cut)));
      expect(error.message, String(cut)).toBe(`the rpm ends at byte ${cut}, inside its ${where}`);
    }
  });

  it("refuses a header that would end past the size the index vouches for, before reading it", async () => {
    const error = await rejection(readAll(bytes, 4096, { packageSize: 200 }));
    expect(error.message).toMatch(/^the rpm's signature header ends at byte \d+, past the package's 200 bytes$/);
  });

  it("refuses a header with a wrong magic, or one claiming more entries than rpm allows", async () => {
    const badMagic = Buffer.from(bytes);
    badMagic.writeUInt32BE(0xdeadbeef, 96);
    expect((await rejection(readAll(badMagic))).message).toBe(
      "the rpm's signature header at byte 96 starts with deadbeef, not 8eade801",
    );
    const huge = Buffer.from(bytes);
    huge.writeUInt32BE(0x10000, 96 + 8);
    expect((await rejection(readAll(huge))).message).toMatch(
      /claims 65536 entries and \d+ data bytes, over rpm's own limits/,
    );
  });
});
