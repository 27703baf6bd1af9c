import { describe, expect, it } from "vitest";
import { BtfKind, btfKindNames, isBtfKind, kindsUnsupportedBy } from "../../../archive/btf/kinds.ts";
import { FormatError } from "../../../archive/errors.ts";

describe("BTF kinds", () => {
  it("numbers the 19 kinds 1..19 with the kernel's names", () => {
    expect(Object.values(BtfKind)).toEqual(Array.from({ length: 19 }, (_, index) => index + 1));
    expect(btfKindNames[BtfKind.FuncProto]).toBe("FUNC_PROTO");
    expect(btfKindNames[BtfKind.Enum64]).toBe("ENUM64");
    expect(new Set(Object.values(btfKindNames)).size).toBe(19);
  });

  it("treats 0 and 20 as unknown kinds", () => {
    expect(isBtfKind(0)).toBe(false);
    expect(isBtfKind(20)).toBe(false);
    expect(isBtfKind(BtfKind.TypeTag)).toBe(true);
  });

  it("says which kinds a kernel predates, ascending and once each: 5.15 has FLOAT but no tags or ENUM64", () => {
    const kinds = [BtfKind.Enum64, BtfKind.Struct, BtfKind.Float, BtfKind.DeclTag, BtfKind.TypeTag, BtfKind.Enum64];
    expect(kindsUnsupportedBy(kinds, "5.15")).toEqual([BtfKind.DeclTag, BtfKind.TypeTag, BtfKind.Enum64]);
  });

  it("places each new kind at the first kernel that accepts it", () => {
    expect(kindsUnsupportedBy([BtfKind.Float], "5.12")).toEqual([BtfKind.Float]);
    expect(kindsUnsupportedBy([BtfKind.Float], "5.13")).toEqual([]);
    expect(kindsUnsupportedBy([BtfKind.DeclTag], "5.15")).toEqual([BtfKind.DeclTag]);
    expect(kindsUnsupportedBy([BtfKind.DeclTag], "5.16")).toEqual([]);
    expect(kindsUnsupportedBy([BtfKind.TypeTag], "5.16")).toEqual([BtfKind.TypeTag]);
    expect(kindsUnsupportedBy([BtfKind.TypeTag], "5.17")).toEqual([]);
    expect(kindsUnsupportedBy([BtfKind.Enum64], "5.19")).toEqual([BtfKind.Enum64]);
    expect(kindsUnsupportedBy([BtfKind.Enum64], "6.0")).toEqual([]);
    expect(kindsUnsupportedBy([BtfKind.Var, BtfKind.Datasec], "4.19")).toEqual([BtfKind.Var, BtfKind.Datasec]);
  });

  it("compares minor versions as numbers: 5.4 predates 5.13", () => {
    expect(kindsUnsupportedBy([BtfKind.Float], "5.4")).toEqual([BtfKind.Float]);
    expect(kindsUnsupportedBy([BtfKind.Float], "10.0")).toEqual([]);
  });

  it("accepts a full kernel release and reads its major.minor", () => {
    expect(kindsUnsupportedBy([BtfKind.Enum64, BtfKind.TypeTag], "5.15.0-91-generic")).toEqual([
      BtfKind.TypeTag,
      BtfKind.Enum64,
    ]);
  });

  it("rejects a version that does not start with major.minor", () => {
    expect(() => kindsUnsupportedBy([BtfKind.Int], "linux")).toThrowError(FormatError);
    expect(() => kindsUnsupportedBy([BtfKind.Int], "linux")).toThrowError(/"linux" does not start with "major.minor"/);
  });
});
