// BTF kind numbers (info bits 24-28) and which kernel first accepts each one: a BTF that holds a
// kind the target kernel predates is rejected by its verifier and confuses older libbpf.
import { FormatError } from "../errors.ts";

export const BtfKind = {
  Int: 1,
  Ptr: 2,
  Array: 3,
  Struct: 4,
  Union: 5,
  Enum: 6,
  Fwd: 7,
  Typedef: 8,
  Volatile: 9,
  Const: 10,
  Restrict: 11,
  Func: 12,
  FuncProto: 13,
  Var: 14,
  Datasec: 15,
  Float: 16,
  DeclTag: 17,
  TypeTag: 18,
  Enum64: 19,
} as const;

export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

/** The spelling bpftool and the kernel headers use (BTF_KIND_<name>). */
export const btfKindNames = {
  1: "INT",
  2: "PTR",
  3: "ARRAY",
  4: "STRUCT",
  5: "UNION",
  6: "ENUM",
  7: "FWD",
  8: "TYPEDEF",
  9: "VOLATILE",
  10: "CONST",
  11: "RESTRICT",
  12: "FUNC",
  13: "FUNC_PROTO",
  14: "VAR",
  15: "DATASEC",
  16: "FLOAT",
  17: "DECL_TAG",
  18: "TYPE_TAG",
  19: "ENUM64",
} as const satisfies Record<BtfKind, string>;

export type BtfKindName = (typeof btfKindNames)[BtfKind];

export interface KindSupport {
  /** First kernel "major.minor" whose BTF verifier accepts the kind. */
  kernel: string;
  /** First libbpf that parses the kind; older ones refuse the whole BTF. */
  libbpf?: string;
}

// Kernel versions from the release that merged each BTF_KIND_* into kernel/bpf/btf.c; libbpf
// versions from the LIBBPF_x.y.z block of src/libbpf.map that added btf__add_<kind>.
export const kindSupport: Readonly<Record<BtfKind, KindSupport>> = {
  1: { kernel: "4.18" },
  2: { kernel: "4.18" },
  3: { kernel: "4.18" },
  4: { kernel: "4.18" },
  5: { kernel: "4.18" },
  6: { kernel: "4.18" },
  7: { kernel: "4.18" },
  8: { kernel: "4.18" },
  9: { kernel: "4.18" },
  10: { kernel: "4.18" },
  11: { kernel: "4.18" },
  12: { kernel: "5.0" },
  13: { kernel: "5.0" },
  14: { kernel: "5.2" },
  15: { kernel: "5.2" },
  16: { kernel: "5.13", libbpf: "0.4" },
  17: { kernel: "5.16", libbpf: "0.6" },
  18: { kernel: "5.17", libbpf: "0.6" },
  19: { kernel: "6.0", libbpf: "1.0" },
};

/** When decoding a type record: tells a known kind number from an unknown one. */
export function isBtfKind(value: number): value is BtfKind {
  return value >= BtfKind.Int && value <= BtfKind.Enum64;
}

/** When checking a BTF for an older kernel: the kinds it holds that `release` predates, ascending. */
export function kindsUnsupportedBy(kinds: Iterable<BtfKind>, release: string): BtfKind[] {
  // `release` is "5.15" or a full release such as "5.15.0-91-generic"; only major.minor counts.
  const target = parseMajorMinor(release);
  const unsupported = new Set<BtfKind>();
  for (const kind of kinds) {
    if (compareVersions(parseMajorMinor(kindSupport[kind].kernel), target) > 0) unsupported.add(kind);
  }
  return [...unsupported].sort((a, b) => a - b);
}

function parseMajorMinor(release: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) throw new FormatError(`kernel version "${release}" does not start with "major.minor"`);
  return [Number(match[1]), Number(match[2])];
}

function compareVersions(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}
