import { describe, expect, it } from "vitest";
import { parseBtfStrings } from "../../../archive/btf/strings.ts";
import { FormatError } from "../../../archive/errors.ts";

const section = (text: string) => new TextEncoder().encode(text);

describe("BTF strings", () => {
  it("reads the string at an offset, the empty string at 0", () => {
    const strings = parseBtfStrings(section("\0int\0task_struct\0"));
    expect(strings.get(0)).toBe("");
    expect(strings.get(1)).toBe("int");
    expect(strings.get(5)).toBe("task_struct");
  });

  it("reads an offset into the middle of a string as its suffix, as pahole shares suffixes", () => {
    expect(parseBtfStrings(section("\0task_struct\0")).get(6)).toBe("struct");
  });

  it("decodes UTF-8 names when the section is not ASCII", () => {
    const strings = parseBtfStrings(section("\0café\0x\0"));
    expect(strings.get(1)).toBe("café");
    expect(strings.get(7)).toBe("x");
  });

  it("rejects an offset at or past the end of the section, naming both", () => {
    const strings = parseBtfStrings(section("\0int\0"));
    expect(() => strings.get(5)).toThrowError(FormatError);
    expect(() => strings.get(5)).toThrowError("string offset 5 is out of range (string section is 5 bytes)");
  });

  it("rejects a string with no NUL before the end of the section", () => {
    const strings = parseBtfStrings(section("\0int"));
    expect(() => strings.get(1)).toThrowError("string at offset 1 is not NUL-terminated inside the string section");
  });
});
