import { describe, expect, it } from "vitest";
import { findCandidates } from "../../../archive/co-re/candidates.ts";
import { member, specOf } from "../../helpers/btf-spec.ts";

const kernel = specOf([
  /* 1 */ { kind: "INT", name: "int", size: 4, encoding: 1, bitOffset: 0, bits: 32 },
  /* 2 */ { kind: "STRUCT", name: "tcp_sock", size: 8, members: [member("srtt_us", 1, 0)] },
  /* 3 */ { kind: "STRUCT", name: "tcp_sock___v2", size: 8, members: [member("srtt_us", 1, 4)] },
  /* 4 */ { kind: "UNION", name: "tcp_sock", size: 4, members: [] },
  /* 5 */ { kind: "ENUM64", name: "bpf_func_id", size: 8, signed: false, values: [] },
  /* 6 */ { kind: "STRUCT", name: "", size: 4, members: [] },
]);
const local = specOf([
  /* 1 */ { kind: "STRUCT", name: "tcp_sock___old", size: 4, members: [] },
  /* 2 */ { kind: "ENUM", name: "bpf_func_id", size: 4, signed: false, values: [] },
  /* 3 */ { kind: "STRUCT", name: "", size: 4, members: [] },
  /* 4 */ { kind: "STRUCT", name: "tcp_sock", size: 4, members: [] },
]);

describe("CO-RE candidates", () => {
  it("finds kernel types of the same kind by essential name on both sides, in id order", () => {
    expect(findCandidates(kernel, local.types[0]!).map((type) => type.id)).toEqual([2, 3]);
    expect(findCandidates(kernel, local.types[3]!).map((type) => type.id)).toEqual([2, 3]);
  });

  it("accepts an ENUM64 for a local ENUM", () => {
    expect(findCandidates(kernel, local.types[1]!).map((type) => type.id)).toEqual([5]);
  });

  it("has no candidate for an anonymous local type", () => {
    expect(findCandidates(kernel, local.types[2]!)).toEqual([]);
  });
});
