import { describe, expect, it } from "vitest";
import type { BtfSpec } from "../../../archive/btf/types.ts";
import type { CoreRelocation } from "../../../archive/co-re/bpf-object.ts";
import { parseLocalSpec } from "../../../archive/co-re/local-spec.ts";
import { ReloKind, reloKindNames, type ReloKind as Kind } from "../../../archive/co-re/relo-kinds.ts";
import { matchSpec } from "../../../archive/co-re/spec-match.ts";
import { member, specOf } from "../../helpers/btf-spec.ts";

const local = specOf([
  /* 1 */ { kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
  /* 2 */ { kind: "PTR", name: "", type: 0 },
  /* 3 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 16 },
  /* 4 */ {
    kind: "STRUCT",
    name: "sock",
    size: 80,
    members: [member("sk_user_data", 2, 0), member("comm", 3, 8), member("len", 1, 72), member("data", 5, 76)],
  },
  /* 5 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 0 },
  /* 6 */ { kind: "ENUM", name: "e", size: 4, signed: false, values: [{ name: "X", value: 1 }] },
]);
const kernel = specOf([
  /* 1 */ { kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
  /* 2 */ { kind: "PTR", name: "", type: 0 },
  /* 3 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 8 },
  /* 4 */ {
    kind: "STRUCT",
    name: "sock",
    size: 96,
    members: [
      member("pad", 1, 0),
      member("", 6, 8),
      member("comm", 3, 16),
      member("len", 7, 48),
      member("data", 5, 64),
    ],
  },
  /* 5 */ { kind: "ARRAY", name: "", type: 1, indexType: 1, nelems: 0 },
  /* 6 */ { kind: "UNION", name: "", size: 8, members: [member("sk_flags", 1, 0), member("sk_user_data", 2, 0)] },
  /* 7 */ { kind: "STRUCT", name: "list_head", size: 16, members: [] },
  /* 8 */ {
    kind: "ENUM64",
    name: "e",
    size: 8,
    signed: false,
    values: [
      { name: "Y", value: 0n },
      { name: "X", value: 7n },
    ],
  },
  /* 9 */ { kind: "ENUM", name: "e", size: 4, signed: false, values: [{ name: "Y", value: 0 }] },
]);

function match(
  typeId: number,
  accessString: string,
  kind: Kind = ReloKind.FieldByteOffset,
  target = typeId,
  into: BtfSpec = kernel,
) {
  const relocation: CoreRelocation = {
    section: "s",
    program: "s",
    index: 0,
    insnOff: 0,
    kind,
    kindName: reloKindNames[kind],
    typeId,
    accessString,
  };
  return matchSpec(parseLocalSpec(local, relocation), local, into, target);
}

describe("CO-RE spec matching", () => {
  it("finds a member inside an anonymous union of the kernel type, at the union's offset", () => {
    const result = match(4, "0:0");
    expect(result).toMatchObject({ matched: true, target: { bitOffset: 64 } });
    expect(result.matched && result.target.accessors.map((accessor) => accessor.name)).toEqual([
      undefined,
      "sk_user_data",
    ]);
  });

  it("accepts array indexes within the kernel's bound, and any index into a flexible array", () => {
    expect(match(4, "0:1:3")).toMatchObject({ matched: true, target: { bitOffset: (16 + 12) * 8 } });
    expect(match(4, "0:1:10")).toEqual({ matched: false, why: "index 10 is past the kernel array's 8 elements" });
    expect(match(4, "0:3:5")).toMatchObject({ matched: true, target: { bitOffset: (64 + 20) * 8 } });
  });

  it("names a member whose kernel type cannot stand in for the local one", () => {
    expect(match(4, "0:2")).toEqual({ matched: false, why: "struct sock::len is struct list_head, not int" });
  });

  it("finds an enumerator by name in an ENUM64, and says which enum lacks it", () => {
    expect(match(6, "0", ReloKind.EnumvalValue, 8)).toMatchObject({
      matched: true,
      target: { enumerator: { name: "X", value: 7n } },
    });
    expect(match(6, "0", ReloKind.EnumvalExists, 9)).toEqual({ matched: false, why: "enum e has no value X" });
  });

  it("matches type-based kinds by compatibility, and TYPE_MATCHES by layout", () => {
    expect(match(4, "0", ReloKind.TypeExists)).toMatchObject({ matched: true });
    expect(match(4, "0", ReloKind.TypeMatches)).toEqual({
      matched: false,
      why: "kernel struct sock does not match the local one",
    });
  });
});
