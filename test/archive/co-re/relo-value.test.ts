import { describe, expect, it } from "vitest";
import type { CoreRelocation } from "../../../archive/co-re/bpf-object.ts";
import { parseLocalSpec } from "../../../archive/co-re/local-spec.ts";
import { ReloKind, reloKindNames, type ReloKind as Kind } from "../../../archive/co-re/relo-kinds.ts";
import { relocationValue } from "../../../archive/co-re/relo-value.ts";
import { matchSpec } from "../../../archive/co-re/spec-match.ts";
import { FormatError } from "../../../archive/errors.ts";
import { member, specOf } from "../../helpers/btf-spec.ts";

// struct bits { u8 a:6 at bit 5; int b at byte 4; u8 c[3] at byte 8; }: `a` straddles a byte.
const spec = specOf([
  /* 1 */ { kind: "INT", name: "u8", size: 1, encoding: 0, bitOffset: 0, bits: 8 },
  /* 2 */ { kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
  /* 3 */ { kind: "ARRAY", name: "", type: 1, indexType: 2, nelems: 3 },
  /* 4 */ {
    kind: "STRUCT",
    name: "bits",
    size: 12,
    members: [{ name: "a", type: 1, bitOffset: 5, bitfieldSize: 6 }, member("b", 2, 4), member("c", 3, 8)],
  },
]);

function value(accessString: string, kind: Kind) {
  const relocation: CoreRelocation = {
    section: "s",
    program: "s",
    index: 0,
    insnOff: 0,
    kind,
    kindName: reloKindNames[kind],
    typeId: 4,
    accessString,
  };
  const local = parseLocalSpec(spec, relocation);
  const result = matchSpec(local, spec, spec, 4);
  if (!result.matched) throw new Error(result.why);
  return relocationValue(local, spec, result.target);
}

describe("CO-RE relocation values", () => {
  it("widens the load of a bitfield that straddles a byte, and shifts it out as libbpf does", () => {
    expect(value("0:0", ReloKind.FieldByteOffset)).toBe(0);
    expect(value("0:0", ReloKind.FieldByteSize)).toBe(2);
    expect(value("0:0", ReloKind.FieldLshiftU64)).toBe(53);
    expect(value("0:0", ReloKind.FieldRshiftU64)).toBe(58);
    expect(value("0:0", ReloKind.FieldSigned)).toBe(0);
  });

  it("gives a plain member its offset, size and signedness", () => {
    expect(
      [
        ReloKind.FieldByteOffset,
        ReloKind.FieldByteSize,
        ReloKind.FieldSigned,
        ReloKind.FieldLshiftU64,
        ReloKind.FieldRshiftU64,
      ].map((kind) => value("0:1", kind)),
    ).toEqual([4, 4, 1, 32, 32]);
  });

  it("gives an array element its offset and size, and refuses other field kinds on it", () => {
    expect(value("0:2:2", ReloKind.FieldByteOffset)).toBe(10);
    expect(value("0:2:2", ReloKind.FieldByteSize)).toBe(1);
    expect(() => value("0:2:2", ReloKind.FieldSigned)).toThrow(FormatError);
  });

  it("answers 1 for the existence kinds and the type's size and id for the type kinds", () => {
    expect(value("0:1", ReloKind.FieldExists)).toBe(1);
    expect(value("0", ReloKind.TypeExists)).toBe(1);
    expect(value("0", ReloKind.TypeSize)).toBe(12);
    expect(value("0", ReloKind.TypeIdTarget)).toBe(4);
  });
});
