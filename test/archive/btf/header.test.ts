import { describe, expect, it } from "vitest";
import { parseBtfHeader } from "../../../archive/btf/header.ts";
import { FormatError } from "../../../archive/errors.ts";
import { btfBytes, info, setU32 } from "../../helpers/btf-bytes.ts";

// One INT record: 16 bytes of types, then "\0int\0".
const strings = "\0int\0";
const types = [1, info(1), 4, 0x01000020];

function rejects(bytes: Uint8Array, message: RegExp): void {
  expect(() => parseBtfHeader(bytes)).toThrowError(FormatError);
  expect(() => parseBtfHeader(bytes)).toThrowError(message);
}

describe("BTF header", () => {
  it("reads a little-endian header with section offsets made absolute", () => {
    expect(parseBtfHeader(btfBytes({ strings, types }))).toEqual({
      littleEndian: true,
      version: 1,
      flags: 0,
      headerLength: 24,
      typeStart: 24,
      typeLength: 16,
      stringStart: 40,
      stringLength: 5,
    });
  });

  it("reads a byte-swapped magic as a big-endian header", () => {
    const header = parseBtfHeader(btfBytes({ strings, types, bigEndian: true }));
    expect(header.littleEndian).toBe(false);
    expect(header.typeLength).toBe(16);
    expect(header.stringLength).toBe(5);
  });

  it("honours a 32-byte hdr_len: sections are counted from its end", () => {
    const header = parseBtfHeader(btfBytes({ strings, types, headerLength: 32 }));
    expect(header.headerLength).toBe(32);
    expect(header.typeStart).toBe(32);
    expect(header.stringStart).toBe(48);
  });

  it("rejects a bad magic, naming what it found", () => {
    const bytes = btfBytes({ strings, types });
    bytes[0] = 0x12;
    bytes[1] = 0x34;
    rejects(bytes, /magic 0x3412 at offset 0, expected 0xeb9f/);
  });

  it("rejects a header shorter than 24 bytes", () => {
    rejects(btfBytes({ strings, types }).subarray(0, 20), /header truncated: 20 bytes, need at least 24/);
  });

  it("rejects a version other than 1", () => {
    const bytes = btfBytes({ strings, types });
    bytes[2] = 2;
    rejects(bytes, /version 2 at offset 2/);
  });

  it("rejects a hdr_len beyond the buffer", () => {
    rejects(setU32(btfBytes({ strings, types }), 4, 4096), /hdr_len 4096 at offset 4 extends beyond the 45-byte blob/);
  });

  it("rejects a hdr_len shorter than the fixed header", () => {
    rejects(setU32(btfBytes({ strings, types }), 4, 16), /hdr_len 16 at offset 4 is shorter/);
  });

  it("rejects a type section that overruns the buffer", () => {
    rejects(setU32(btfBytes({ strings, types }), 12, 400), /type section \[24, 424\) overruns the 45-byte blob/);
  });

  it("rejects a string section that overruns the buffer", () => {
    rejects(setU32(btfBytes({ strings, types }), 20, 50), /string section \[40, 90\) overruns the 45-byte blob/);
  });

  it("rejects a type section not aligned to 4 bytes", () => {
    rejects(setU32(btfBytes({ strings, types }), 8, 2), /type_off 2 is not 4-byte aligned/);
  });

  it("rejects overlapping type and string sections", () => {
    // Strings moved to start inside the type section.
    rejects(setU32(btfBytes({ strings, types }), 16, 8), /type section \[24, 40\) overlaps string section \[32, 37\)/);
  });

  it("rejects an empty string section", () => {
    rejects(setU32(btfBytes({ strings, types }), 20, 0), /string section is empty/);
  });

  it("rejects a string section that does not start with NUL", () => {
    rejects(btfBytes({ strings: "xint\0", types }), /string section at offset 40 does not start with NUL/);
  });

  it("rejects a string section whose last string runs off its end", () => {
    rejects(btfBytes({ strings: "\0int", types }), /string section does not end with NUL at offset 43/);
  });
});
