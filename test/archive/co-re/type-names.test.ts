import { describe, expect, it } from "vitest";
import {
  essentialName,
  kindsCompatible,
  resolveSize,
  skipModsAndTypedefs,
  typeDisplayName,
} from "../../../archive/co-re/type-names.ts";
import { FormatError } from "../../../archive/errors.ts";
import { member, specOf } from "../../helpers/btf-spec.ts";

const spec = specOf([
  /* 1 */ { kind: "INT", name: "unsigned int", size: 4, encoding: 0, bitOffset: 0, bits: 32 },
  /* 2 */ { kind: "TYPEDEF", name: "u32", type: 1 },
  /* 3 */ { kind: "CONST", name: "", type: 2 },
  /* 4 */ { kind: "VOLATILE", name: "", type: 3 },
  /* 5 */ { kind: "ARRAY", name: "", type: 4, indexType: 1, nelems: 16 },
  /* 6 */ { kind: "PTR", name: "", type: 7 },
  /* 7 */ { kind: "STRUCT", name: "task_struct", size: 72, members: [member("pid", 1, 0)] },
  /* 8 */ { kind: "FUNC_PROTO", name: "", returnType: 1, params: [] },
  /* 9 */ { kind: "TYPEDEF", name: "loop", type: 10 },
  /* 10 */ { kind: "TYPEDEF", name: "loop2", type: 9 },
  /* 11 */ { kind: "UNION", name: "", size: 8, members: [] },
  /* 12 */ { kind: "FWD", name: "bio", fwdKind: "union" },
  /* 13 */ { kind: "ENUM64", name: "big", size: 8, signed: false, values: [] },
  /* 14 */ { kind: "ENUM", name: "small", size: 4, signed: false, values: [] },
]);

describe("CO-RE type helpers", () => {
  it("strips the last ___flavor suffix only when both sides of it are not underscores, as libbpf does", () => {
    expect(essentialName("tcp_sock___old")).toBe("tcp_sock");
    expect(essentialName("a___b___c")).toBe("a___b");
    expect(essentialName("foo___1")).toBe("foo");
    expect(essentialName("a____b")).toBe("a____b");
    expect(essentialName("tcp_sock___")).toBe("tcp_sock___");
    expect(essentialName("___x")).toBe("___x");
    expect(essentialName("")).toBe("");
  });

  it("skips qualifiers and typedefs to the type they name, and reports a typedef loop", () => {
    expect(skipModsAndTypedefs(spec, 4).id).toBe(1);
    expect(skipModsAndTypedefs(spec, 0).type).toBeUndefined();
    expect(() => skipModsAndTypedefs(spec, 9)).toThrow(FormatError);
  });

  it("sizes arrays of qualified typedefs, pointers and structs, and refuses a function prototype", () => {
    expect(resolveSize(spec, 5)).toBe(64);
    expect(resolveSize(spec, 6)).toBe(8);
    expect(resolveSize(spec, 7)).toBe(72);
    expect(() => resolveSize(spec, 8)).toThrow(/resolves to FUNC_PROTO/);
  });

  it("spells types as C does: struct, union, enum, typedef, forward union, (anon)", () => {
    expect(typeDisplayName(spec.types[6])).toBe("struct task_struct");
    expect(typeDisplayName(spec.types[10])).toBe("union (anon)");
    expect(typeDisplayName(spec.types[11])).toBe("union bio");
    expect(typeDisplayName(spec.types[12])).toBe("enum big");
    expect(typeDisplayName(spec.types[1])).toBe("typedef u32");
    expect(typeDisplayName(spec.types[0])).toBe("unsigned int");
    expect(typeDisplayName(undefined)).toBe("void");
  });

  it("treats ENUM and ENUM64 as one kind, and nothing else", () => {
    expect(kindsCompatible(spec.types[12]!, spec.types[13]!)).toBe(true);
    expect(kindsCompatible(spec.types[6]!, spec.types[10]!)).toBe(false);
  });
});
