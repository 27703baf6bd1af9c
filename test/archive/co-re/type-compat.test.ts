import { describe, expect, it } from "vitest";
import { fieldsAreCompat, typesAreCompat, typesMatch } from "../../../archive/co-re/type-compat.ts";
import { member, specOf, type TypeRecord } from "../../helpers/btf-spec.ts";

// The same ids in both specs mean the same C types, except where a comment says otherwise.
const common: TypeRecord[] = [
  /* 1 */ { kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
  /* 2 */ { kind: "INT", name: "unsigned int", size: 4, encoding: 0, bitOffset: 0, bits: 32 },
  /* 3 */ { kind: "PTR", name: "", type: 4 },
  /* 4 */ { kind: "STRUCT", name: "sock", size: 8, members: [member("a", 1, 0), member("b", 1, 4)] },
  /* 5 */ { kind: "ENUM", name: "state", size: 4, signed: false, values: [{ name: "A", value: 0 }] },
  /* 6 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 4 },
  /* 7 */ { kind: "FUNC_PROTO", name: "", returnType: 1, params: [{ name: "x", type: 3 }] },
  /* 8 */ { kind: "INT", name: "legacy", size: 4, encoding: 0, bitOffset: 3, bits: 5 },
];
const local = specOf([
  ...common,
  /* 9 */ { kind: "ENUM", name: "state___old", size: 4, signed: false, values: [{ name: "A", value: 0 }] },
  /* 10 */ { kind: "FWD", name: "sock", fwdKind: "struct" },
  /* 11 */ { kind: "PTR", name: "", type: 10 },
]);
const kernel = specOf([
  ...common,
  /* 9 */ { kind: "ENUM", name: "other", size: 4, signed: false, values: [] },
  /* 10 */ { kind: "STRUCT", name: "sock", size: 16, members: [member("a", 1, 0), member("b", 1, 4)] },
  /* 11 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 8 },
  /* 12 */ { kind: "FUNC_PROTO", name: "", returnType: 1, params: [] },
  /* 13 */ { kind: "ENUM64", name: "state", size: 8, signed: false, values: [{ name: "A", value: 0n }] },
]);

describe("CO-RE field compatibility (bpf_core_fields_are_compat)", () => {
  it("accepts any two integers, pointers and composites, and arrays of compatible elements", () => {
    expect(fieldsAreCompat(local, 1, kernel, 2)).toBe(true);
    expect(fieldsAreCompat(local, 3, kernel, 3)).toBe(true);
    expect(fieldsAreCompat(local, 4, kernel, 10)).toBe(true);
    expect(fieldsAreCompat(local, 6, kernel, 11)).toBe(true);
  });

  it("refuses an integer for a pointer, legacy bitfield integers, and enums of another name", () => {
    expect(fieldsAreCompat(local, 1, kernel, 3)).toBe(false);
    expect(fieldsAreCompat(local, 8, kernel, 8)).toBe(false);
    expect(fieldsAreCompat(local, 9, kernel, 5)).toBe(true);
    expect(fieldsAreCompat(local, 9, kernel, 9)).toBe(false);
  });
});

describe("CO-RE type compatibility (bpf_core_types_are_compat)", () => {
  it("follows pointers and arrays, compares prototypes parameter by parameter", () => {
    expect(typesAreCompat(local, 3, kernel, 3)).toBe(true);
    expect(typesAreCompat(local, 6, kernel, 11)).toBe(true);
    expect(typesAreCompat(local, 7, kernel, 7)).toBe(true);
    expect(typesAreCompat(local, 7, kernel, 12)).toBe(false);
    expect(typesAreCompat(local, 5, kernel, 13)).toBe(true);
  });
});

describe("CO-RE type match (bpf_core_types_match)", () => {
  it("requires equal sizes and every local member, and accepts a struct for a forward declaration behind a pointer", () => {
    expect(typesMatch(local, 4, kernel, 4)).toBe(true);
    expect(typesMatch(local, 4, kernel, 10)).toBe(false);
    expect(typesMatch(local, 11, kernel, 3)).toBe(true);
    expect(typesMatch(local, 10, kernel, 4)).toBe(false);
  });

  it("compares integer signedness and array lengths", () => {
    expect(typesMatch(local, 1, kernel, 2)).toBe(false);
    expect(typesMatch(local, 6, kernel, 11)).toBe(false);
    expect(typesMatch(local, 6, kernel, 6)).toBe(true);
  });
});
