import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBtfExt } from "../../../archive/btf/ext.ts";
import { parseBtfHeader } from "../../../archive/btf/header.ts";
import { parseBtfStrings } from "../../../archive/btf/strings.ts";
import { readElfSection } from "../../../archive/elf.ts";
import { FormatError } from "../../../archive/errors.ts";
import { makeCoreObject } from "../../fixtures/bpf-objects.ts";

// "\0fentry/x\0" "0:1\0" "sockops\0": offsets 1, 10, 14.
const strings = parseBtfStrings(Buffer.from("\0fentry/x\x000:1\0sockops\0", "latin1"));

/** A .BTF.ext with the given sub-sections, each a list of u32 words after its rec_size. */
function ext(options: { headerLength?: number; core?: number[]; func?: number[]; line?: number[] }): Buffer {
  const headerLength = options.headerLength ?? 32;
  const parts = [options.func ?? [], options.line ?? [], options.core ?? []].map((words) =>
    Buffer.from(new Uint32Array(words).buffer),
  );
  const header = Buffer.alloc(headerLength);
  header.writeUInt16LE(0xeb9f, 0);
  header.writeUInt8(1, 2);
  header.writeUInt32LE(headerLength, 4);
  let offset = 0;
  for (const [index, part] of parts.entries()) {
    if (8 + index * 8 + 8 > headerLength) break;
    header.writeUInt32LE(offset, 8 + index * 8);
    header.writeUInt32LE(part.length, 12 + index * 8);
    offset += part.length;
  }
  return Buffer.concat([header, ...parts]);
}

function expectFormatError(run: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FormatError);
  expect((thrown as Error).message).toMatch(message);
}

describe(".BTF.ext", () => {
  it("decodes core_relo records grouped by section, with section names from the BTF strings", () => {
    const parsed = parseBtfExt(ext({ core: [16, 1, 2, 8, 3, 10, 0, 16, 4, 10, 2, 14, 1, 0, 6, 10, 9] }), strings);
    expect(parsed.header).toEqual({ littleEndian: true, version: 1, flags: 0, headerLength: 32 });
    expect(parsed.coreRelos).toEqual([
      {
        section: "fentry/x",
        records: [
          { insnOff: 8, typeId: 3, accessStrOff: 10, kind: 0 },
          { insnOff: 16, typeId: 4, accessStrOff: 10, kind: 2 },
        ],
      },
      { section: "sockops", records: [{ insnOff: 0, typeId: 6, accessStrOff: 10, kind: 9 }] },
    ]);
  });

  it("skips the extra bytes of records larger than it knows, as newer producers may write", () => {
    const parsed = parseBtfExt(ext({ core: [20, 1, 1, 8, 3, 10, 0, 0xdead] }), strings);
    expect(parsed.coreRelos[0]!.records).toEqual([{ insnOff: 8, typeId: 3, accessStrOff: 10, kind: 0 }]);
  });

  it("has no CO-RE records when hdr_len is 24, the layout before core_relo existed", () => {
    const parsed = parseBtfExt(ext({ headerLength: 24, func: [8, 1, 1, 0, 5] }), strings);
    expect(parsed.coreRelos).toEqual([]);
    expect(parsed.funcInfoCounts).toEqual(new Map([["fentry/x", 1]]));
  });

  it("rejects a wrong magic, version or hdr_len with the offending value", () => {
    const bad = ext({});
    bad.writeUInt16LE(0x1234, 0);
    expectFormatError(() => parseBtfExt(bad, strings), /magic 0x1234 at offset 0/);
    const version = ext({});
    version.writeUInt8(2, 2);
    expectFormatError(() => parseBtfExt(version, strings), /version 2/);
    const long = ext({});
    long.writeUInt32LE(4096, 4);
    expectFormatError(() => parseBtfExt(long, strings), /hdr_len 4096/);
    expectFormatError(() => parseBtfExt(Buffer.alloc(10), strings), /truncated: 10 bytes/);
  });

  it("rejects a sub-section past the end, a too-small rec_size, an overrunning block and a bad section name", () => {
    const overrun = ext({ core: [16] });
    overrun.writeUInt32LE(400, 28);
    expectFormatError(() => parseBtfExt(overrun, strings), /core_relo \[32, 432\) overruns the 36-byte section/);
    expectFormatError(() => parseBtfExt(ext({ core: [12, 1, 1, 0, 0, 0] }), strings), /core_relo rec_size 12/);
    expectFormatError(
      () => parseBtfExt(ext({ core: [16, 1, 3, 8, 3, 10, 0] }), strings),
      /section "fentry\/x" at offset 36 declares 3 records of 16 bytes/,
    );
    expectFormatError(
      () => parseBtfExt(ext({ core: [16, 999, 1, 8, 3, 10, 0] }), strings),
      /section name: string offset 999/,
    );
    expectFormatError(() => parseBtfExt(ext({ core: [16, 1, 0] }), strings), /"fentry\/x" at offset 36 is empty/);
  });
});

describe(".BTF.ext from clang", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-ext-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the tcprtt object's single CO-RE record: tcp_sock member 1 in its fentry section", async () => {
    const object = await makeCoreObject(dir, "tcprtt");
    const btf = (await readElfSection(object, ".BTF"))!;
    const header = parseBtfHeader(btf);
    const btfStrings = parseBtfStrings(btf.subarray(header.stringStart, header.stringStart + header.stringLength));
    const parsed = parseBtfExt((await readElfSection(object, ".BTF.ext"))!, btfStrings);
    expect(parsed.coreRelos).toHaveLength(1);
    const [{ section, records }] = parsed.coreRelos as [(typeof parsed.coreRelos)[0]];
    expect(section).toBe("fentry/tcp_rcv_established");
    expect(records.map((record) => [btfStrings.get(record.accessStrOff), record.kind])).toEqual([["0:1", 0]]);
    expect(parsed.funcInfoCounts.get("fentry/tcp_rcv_established")).toBe(1);
    expect(parsed.lineInfoCounts.get("fentry/tcp_rcv_established")).toBeGreaterThan(0);
  });
});
